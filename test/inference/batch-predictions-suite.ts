/**
 * Batch scoring end to end, per configuration (the machine's PostgreSQL with its queue backend, or
 * with Redis queues): a public
 * table (vega-datasets penguins) uploaded through the ingestion API, a model trained through the
 * training API, then `POST /api/batch-predictions` on the `batch-inference` queue: progress, the new
 * dataset version (input columns + prediction columns, written through ingestion), predictions equal
 * to the record API's, cancellation (queued and running), and the 4xx cases naming the field.
 */
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { JobName, jobId, QueueName, type InferenceRunBatchPredictionPayload } from '../../src/contracts';
import { eventually, skipUnless, startTestKiln, type TestKiln, type TestConfiguration, type TestResponse } from '../utils/test-kiln';
import { completedJob } from '../utils/completed-job';
import { createDataset, penguinsRows, readyVersion, toCsv, vegaFile, type JsonRow } from '../ingestion/ingestion-helpers';
import { downloadedRows, finishedBatchPrediction } from './inference-helpers';

const MODEL = 'penguins-batch';
const CLASSES = ['Adelie', 'Chinstrap', 'Gentoo'];

export async function batchPredictionsSuite(configuration: TestConfiguration): Promise<void> {
  const skip = await skipUnless(configuration);
  describe(`batch predictions on configuration "${configuration}"`, { skip }, () => {
    let kiln: TestKiln;
    let datasetId: string;
    let version: any;
    const penguins = penguinsRows();

    async function job(id: string): Promise<any> {
      const r = await kiln.request('GET', `/api/batch-predictions/${id}`);
      assert.equal(r.status, 200, r.text);
      return r.body;
    }

    before(async () => {
      kiln = await startTestKiln(configuration);
      datasetId = await createDataset(kiln, 'penguins');
      version = await readyVersion(kiln, datasetId, vegaFile('penguins.json'), { fileName: 'penguins.json' });
      const train = await kiln.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId: version.id,
          target: 'Species',
          modelName: MODEL,
          hyperparameters: { epochs: 8, batchSize: 16, learningRate: 0.02, hiddenUnits: [8], seed: 11 },
        },
      });
      assert.equal(train.status, 202, train.text);
      await eventually(
        async () => {
          const r = await kiln.request('GET', `/api/training-jobs/${train.body.id}`);
          if (r.body.status === 'failed' || r.body.status === 'cancelled')
            assert.fail(`training ${r.body.status}: ${JSON.stringify(r.body.error)}`);
          return r.body.status === 'succeeded' ? r.body : undefined;
        },
        60_000,
        200,
      );
      const alias = await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } });
      assert.equal(alias.status, 200, alias.text);
    });
    after(async () => {
      await kiln?.close();
    });

    it('rejects bad references naming the field, before anything is queued', async () => {
      const base = { model: MODEL, datasetVersionId: version.id };
      const cases: Array<[object, number, string]> = [
        [{ ...base, model: 'no-such-model' }, 404, 'model'],
        [{ ...base, version: 7 }, 404, 'version'],
        [{ ...base, alias: 'staging' }, 404, 'alias'],
        [{ ...base, datasetVersionId: randomUUID() }, 404, 'datasetVersionId'],
        [{ ...base, outputDatasetId: randomUUID() }, 404, 'outputDatasetId'],
      ];
      for (const [body, status, field] of cases) {
        const r = await kiln.request('POST', '/api/batch-predictions', { body });
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
        assert.match(r.body.detail, new RegExp(`^${field}: `), r.text);
      }
      const invalid: Array<[object, string]> = [
        [{ ...base, version: 1, alias: 'production' }, 'alias'],
        [{ datasetVersionId: version.id }, 'model'],
        [{ ...base, datasetVersionId: 'nope' }, 'datasetVersionId'],
        [{ ...base, version: 0 }, 'version'],
        [{ ...base, chunkSize: 0 }, 'chunkSize'],
        [{ ...base, extra: 1 }, 'extra'],
        [{ ...base, outputDatasetId: null }, 'outputDatasetId'],
      ];
      for (const [body, field] of invalid) {
        const r = await kiln.request('POST', '/api/batch-predictions', { body });
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.ok(
          r.body.errors.some((e: any) => e.field === field),
          `${field} in ${r.text}`,
        );
      }
      const nullOutput = await kiln.request('POST', '/api/batch-predictions', { body: { ...base, outputDatasetId: null } });
      assert.match(nullOutput.body.errors[0].reason, /must be a dataset id \(UUID\) or omitted/, nullOutput.text);
      const badKey = await kiln.request('POST', '/api/batch-predictions', { body: base, headers: { 'idempotency-key': 'x'.repeat(256) } });
      assert.equal(badKey.status, 400, badKey.text);
      assert.equal(badKey.body.errors[0].field, 'Idempotency-Key');
      // a dataset version without the model's 'Island' feature
      const otherId = await createDataset(kiln, 'penguins-no-island');
      const noIsland = await readyVersion(
        kiln,
        otherId,
        toCsv(
          penguins.slice(0, 40),
          Object.keys(penguins[0]!).filter((c) => c !== 'Island'),
        ),
      );
      const lacking = await kiln.request('POST', '/api/batch-predictions', { body: { ...base, datasetVersionId: noIsland.id } });
      assert.equal(lacking.status, 400, lacking.text);
      assert.equal(lacking.body.errors[0].field, 'datasetVersionId');
      assert.match(lacking.body.errors[0].reason, /'Island'/);

      const list = await kiln.request('GET', '/api/batch-predictions');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, [], 'nothing was queued');
      assert.equal((await kiln.request('GET', `/api/batch-predictions/${randomUUID()}`)).status, 404);
      assert.equal((await kiln.request('GET', '/api/batch-predictions/not-a-uuid')).status, 404);
      assert.equal((await kiln.request('POST', `/api/batch-predictions/${randomUUID()}/cancel`)).status, 404);
    });

    it('scores a version into a new dataset (never the input one): input columns + predictions equal to the record API', async () => {
      const res = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: MODEL, alias: 'production', datasetVersionId: version.id, chunkSize: 50 },
      });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.status, 'queued');
      assert.deepEqual(res.body.requested, { alias: 'production' });
      const done = await finishedBatchPrediction(kiln, res.body.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(done.modelVersion, 1);
      assert.deepEqual(done.progress, { rowsProcessed: penguins.length, totalRows: penguins.length });
      // the output is not a new version of the input dataset (training would pick it up as latest)
      assert.notEqual(done.outputDatasetId, datasetId);
      const latestInput = await kiln.request('GET', `/api/datasets/${datasetId}`);
      assert.equal(latestInput.body.latestReadyVersion.id, version.id, latestInput.text);
      assert.deepEqual(
        (await kiln.request('GET', `/api/datasets/${datasetId}/versions`)).body.map((v: any) => v.id),
        [version.id],
      );
      const outDataset = await kiln.request('GET', `/api/datasets/${done.outputDatasetId}`);
      assert.equal(outDataset.body.name, `penguins-scored-${MODEL}-v1`, outDataset.text);
      assert.deepEqual(
        done.predictionColumns.probabilities.map((p: any) => p.column).sort(),
        CLASSES.map((c) => `probability_${c}`),
      );
      assert.equal(done.predictionColumns.score, null, 'multiclass has no score');

      const out = (await kiln.request('GET', `/api/datasets/${done.outputDatasetId}/versions/${done.outputDatasetVersionId}`)).body;
      assert.equal(out.status, 'ready', JSON.stringify(out));
      assert.equal(out.version, 1);
      const scored = ['prediction', ...CLASSES.map((c) => `probability_${c}`)];
      assert.deepEqual(out.lineage, {
        kind: 'batch-scoring',
        batchPredictionId: done.id,
        model: MODEL,
        modelVersion: 1,
        target: 'Species',
        inputDatasetId: datasetId,
        inputDatasetVersionId: version.id,
        scoredColumns: scored,
      });
      assert.equal(out.rowCount, penguins.length);
      const types = Object.fromEntries(out.columns.map((c: any) => [c.name, c.type]));
      for (const c of version.columns) assert.equal(types[c.name], c.type, `input column ${c.name} keeps its type`);
      assert.equal(types.prediction, 'categorical');
      for (const c of CLASSES) assert.equal(types[`probability_${c}`], 'number');
      assert.equal(out.columns.length, version.columns.length + 1 + CLASSES.length);

      const inputRows = await downloadedRows(kiln, datasetId, version.id);
      const outputRows = await downloadedRows(kiln, done.outputDatasetId, done.outputDatasetVersionId);
      assert.equal(outputRows.length, inputRows.length);
      outputRows.forEach((o, i) => {
        for (const c of version.columns) assert.deepEqual(o[c.name], inputRows[i][c.name], `row ${i} column ${c.name}`);
        assert.ok(CLASSES.includes(o.prediction), `row ${i} prediction ${o.prediction}`);
        const sum = CLASSES.reduce((s, c) => s + o[`probability_${c}`], 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${i} probabilities sum to ${sum}`);
      });
      // the model learnt something: most predictions match the species
      const correct = outputRows.filter((o) => o.prediction === o.Species).length;
      assert.ok(correct / outputRows.length > 0.7, `accuracy ${correct / outputRows.length}`);

      // a sample (with missing values among the features) through the record API
      const sample = [0, 3, 8, 100, 200, 250, 300, 339, 343];
      const features = ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Sex'];
      const records = sample.map((i) => Object.fromEntries(features.map((f) => [f, inputRows[i][f] ?? null])));
      assert.ok(
        records.some((r) => Object.values(r).includes(null)),
        'the sample has missing values',
      );
      const online = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records } });
      assert.equal(online.status, 200, online.text);
      sample.forEach((rowIndex, k) => {
        const p = online.body.predictions[k];
        assert.equal(outputRows[rowIndex].prediction, p.label, `row ${rowIndex} label`);
        for (const c of CLASSES) {
          assert.ok(Math.abs(outputRows[rowIndex][`probability_${c}`] - p.probabilities[c]) < 1e-6, `row ${rowIndex} P(${c})`);
        }
      });

      // training the scored target on the scored copy is refused, naming the columns; nothing queued
      const jobsBefore = (await kiln.request('GET', '/api/training-jobs')).body.length;
      const leak = await kiln.request('POST', '/api/training-jobs', {
        body: { datasetVersionId: out.id, target: 'Species', modelName: 'leak' },
      });
      assert.equal(leak.status, 400, leak.text);
      assert.equal(leak.body.errors[0].field, 'features');
      for (const c of scored) assert.match(leak.body.errors[0].reason, new RegExp(`'${c}'`), leak.text);
      const listed = await kiln.request('POST', '/api/training-jobs', {
        body: { datasetVersionId: out.id, target: 'Species', modelName: 'leak', features: ['Island', 'prediction'] },
      });
      assert.equal(listed.status, 400, listed.text);
      assert.equal((await kiln.request('GET', '/api/training-jobs')).body.length, jobsBefore, 'nothing was queued');

      const list = await kiln.request('GET', '/api/batch-predictions');
      assert.equal(list.body[0].id, done.id);
      const cancel = await kiln.request('POST', `/api/batch-predictions/${done.id}/cancel`);
      assert.equal(cancel.status, 409, cancel.text);
    });

    it('is one job for the same request sent twice with the same Idempotency-Key', async () => {
      const body = { model: MODEL, version: 1, datasetVersionId: version.id, chunkSize: 100 };
      const key = `score-${randomUUID()}`;
      const before = (await kiln.request('GET', '/api/batch-predictions')).body.length;
      const [a, b] = await Promise.all(
        [0, 1].map(() => kiln.request('POST', '/api/batch-predictions', { body, headers: { 'idempotency-key': key } })),
      );
      assert.equal(a!.status, 202, a!.text);
      assert.equal(b!.status, 202, b!.text);
      assert.equal(a!.body.id, b!.body.id);
      const c = await kiln.request('POST', '/api/batch-predictions', { body, headers: { 'idempotency-key': key } });
      assert.equal(c.body.id, a!.body.id);
      const other = await kiln.request('POST', '/api/batch-predictions', {
        body: { ...body, chunkSize: 7 },
        headers: { 'idempotency-key': key },
      });
      assert.equal(other.status, 409, other.text);
      assert.match(other.body.detail, /^Idempotency-Key: /);
      assert.equal((await kiln.request('GET', '/api/batch-predictions')).body.length, before + 1, 'one job');
      const done = await finishedBatchPrediction(kiln, a!.body.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
    });

    it('writes into another dataset when outputDatasetId is given', async () => {
      const target = await createDataset(kiln, 'penguins-scored');
      const res = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: MODEL, version: 1, datasetVersionId: version.id, outputDatasetId: target },
      });
      assert.equal(res.status, 202, res.text);
      const done = await finishedBatchPrediction(kiln, res.body.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      const expected = [[done.outputDatasetVersionId, 1, 'ready', penguins.length]];
      const versions = async () =>
        (await kiln.request('GET', `/api/datasets/${target}/versions`)).body.map((v: any) => [v.id, v.version, v.status, v.rowCount]);
      assert.deepEqual(await versions(), expected);

      // A worker that died after handing the output to ingestion: the retry scores nothing again and
      // waits for the same version; a replay of a finished job only returns its result.
      const pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
      try {
        await pg.query(`UPDATE batch_predictions SET status = 'running', phase = 'ingesting', finished_at = NULL WHERE id = $1`, [done.id]);
      } finally {
        await pg.end();
      }
      const queue = kiln.app.get<Queue>(getQueueToken(QueueName.BatchPredictions));
      const qid = jobId(JobName.InferenceRunBatchPrediction, done.id);
      const replay = async (): Promise<any> => {
        await (await queue.getJob(qid))?.remove();
        const payload: InferenceRunBatchPredictionPayload = { payloadVersion: 1, batchPredictionId: done.id };
        await queue.add(JobName.InferenceRunBatchPrediction, payload, { jobId: qid });
        const result = (await completedJob(queue, qid)).returnvalue;
        assert.equal(result.status, 'succeeded');
        assert.equal(result.outputDatasetVersionId, done.outputDatasetVersionId);
        return job(done.id);
      };
      const retried = await replay();
      assert.equal(retried.status, 'succeeded');
      assert.equal(retried.attempts, done.attempts + 1, 'the retry ran');
      const replayed = await replay();
      assert.equal(replayed.attempts, done.attempts + 1, 'a finished job is not run again');
      assert.deepEqual(await versions(), expected, 'still exactly one output version');
    });

    it('cancels a queued job at once and a running one between chunks; no output version is written', async () => {
      const bigId = await createDataset(kiln, 'penguins-x100');
      const many: JsonRow[] = [];
      for (let k = 0; k < 100; k++) many.push(...penguins);
      const big = await readyVersion(kiln, bigId, toCsv(many));
      assert.equal(big.rowCount, many.length);

      const running = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: MODEL, datasetVersionId: big.id, chunkSize: 10 },
      });
      assert.equal(running.status, 202, running.text);
      const queued = await kiln.request('POST', '/api/batch-predictions', { body: { model: MODEL, datasetVersionId: big.id } });
      assert.equal(queued.status, 202, queued.text);
      // concurrency 1: the second waits behind the first
      const cq = await kiln.request('POST', `/api/batch-predictions/${queued.body.id}/cancel`);
      assert.equal(cq.status, 202, cq.text);
      assert.equal(cq.body.status, 'cancelled');

      const midway = await eventually(async () => {
        const j = await job(running.body.id);
        if (j.status !== 'running' && j.status !== 'queued') assert.fail(`expected running, got ${JSON.stringify(j)}`);
        return j.progress.rowsProcessed > 0 ? j : undefined;
      }, 30_000);
      assert.equal(midway.modelVersion, 1, 'no selector: the production alias');
      assert.equal(midway.phase, 'scoring');
      const cr = await kiln.request('POST', `/api/batch-predictions/${running.body.id}/cancel`);
      assert.equal(cr.status, 202, cr.text);
      assert.equal(cr.body.cancelRequested, true);
      const done = await finishedBatchPrediction(kiln, running.body.id);
      assert.equal(done.status, 'cancelled', JSON.stringify(done));
      assert.equal(done.outputDatasetVersionId, null);
      assert.ok(done.progress.rowsProcessed < many.length, `stopped at ${done.progress.rowsProcessed} of ${many.length}`);
      assert.equal((await job(queued.body.id)).status, 'cancelled', 'the cancelled queued job never ran');
      assert.equal((await job(queued.body.id)).startedAt, null);

      const versions = (await kiln.request('GET', `/api/datasets/${bigId}/versions`)).body;
      assert.deepEqual(
        versions.map((v: any) => v.id),
        [big.id],
        'no output version',
      );
      assert.notEqual(done.outputDatasetId, bigId);
      assert.deepEqual((await kiln.request('GET', `/api/datasets/${done.outputDatasetId}/versions`)).body, [], 'no output version');
      const again = await kiln.request('POST', `/api/batch-predictions/${running.body.id}/cancel`);
      assert.equal(again.status, 409, again.text);
    });

    it('fails at once, with the reason on the job, when the rows do not fit the model', async () => {
      const oddId = await createDataset(kiln, 'penguins-text-mass');
      const rows = penguins.slice(0, 30).map((r) => ({ ...r, 'Body Mass (g)': 'heavy' }));
      const odd = await readyVersion(kiln, oddId, toCsv(rows));
      const res = await kiln.request('POST', '/api/batch-predictions', { body: { model: MODEL, version: 1, datasetVersionId: odd.id } });
      assert.equal(res.status, 202, res.text);
      const done = await finishedBatchPrediction(kiln, res.body.id);
      assert.equal(done.status, 'failed', JSON.stringify(done));
      assert.equal(done.attempts, 1, 'not retried');
      assert.equal(done.error.code, 'PREDICT_REJECTED');
      assert.match(done.error.message, /^the model rejected rows 0\.\.29 .*records\.0\.Body Mass \(g\): .*… and 25 more$/);
      assert.equal(done.outputDatasetVersionId, null);
    });

    it('lists newest first with filters and cursor pages (x-next-cursor, link rel="next"); bad parameters 400 naming them', async () => {
      const all = await kiln.request('GET', '/api/batch-predictions');
      assert.equal(all.status, 200, all.text);
      assert.ok(all.body.length >= 3, `jobs made by the tests above: ${all.body.length}`);
      assert.equal(all.headers.get('x-next-cursor'), null, 'one page holds them all');
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: TestResponse = await kiln.request('GET', `/api/batch-predictions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200, page.text);
        assert.ok(page.body.length <= 2);
        ids.push(...page.body.map((j: { id: string }) => j.id));
        cursor = page.headers.get('x-next-cursor');
        if (cursor)
          assert.match(page.headers.get('link')!, new RegExp(`^</api/batch-predictions\\?limit=2&cursor=${cursor}>; rel="next"$`));
      } while (cursor);
      assert.deepEqual(
        ids,
        all.body.map((j: { id: string }) => j.id),
        'the pages together are the whole list, in order',
      );
      const succeeded = await kiln.request('GET', '/api/batch-predictions?status=succeeded,failed');
      assert.ok(succeeded.body.length > 0 && succeeded.body.every((j: { status: string }) => ['succeeded', 'failed'].includes(j.status)));
      const byDataset = await kiln.request('GET', `/api/batch-predictions?dataset=${datasetId}&model=${MODEL}`);
      assert.ok(byDataset.body.length > 0 && byDataset.body.every((j: { datasetVersionId: string }) => j.datasetVersionId === version.id));
      assert.deepEqual((await kiln.request('GET', '/api/batch-predictions?model=no-such-model')).body, []);
      for (const [query, field] of [
        ['limit=0', 'limit'],
        ['status=done', 'status'],
        ['cursor=not-a-cursor', 'cursor'],
        [`cursor=${version.id}`, 'cursor'],
      ] as const) {
        const bad = await kiln.request('GET', `/api/batch-predictions?${query}`);
        assert.equal(bad.status, 400, `${query}: ${bad.text}`);
        assert.equal(bad.body.errors[0].field, field, query);
      }
    });

    it('refuses an archived version and a missing default alias, naming the field', async () => {
      assert.equal((await kiln.request('DELETE', `/api/models/${MODEL}/aliases/production`)).status, 200);
      const archive = await kiln.request('POST', `/api/models/${MODEL}/versions/1/archive`);
      assert.equal(archive.status, 200, archive.text);
      const archived = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: MODEL, version: 1, datasetVersionId: version.id },
      });
      assert.equal(archived.status, 400, archived.text);
      assert.equal(archived.body.errors[0].field, 'version');
      assert.match(archived.body.errors[0].reason, /archived/);
      const noAlias = await kiln.request('POST', '/api/batch-predictions', { body: { model: MODEL, datasetVersionId: version.id } });
      assert.equal(noAlias.status, 404, noAlias.text);
      assert.match(noAlias.body.detail, /^alias: .*production/);
    });
  });
}
