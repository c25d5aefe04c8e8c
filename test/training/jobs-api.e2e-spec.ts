/**
 * The training jobs API as people and scripts follow it: a queued job's event stream says where it
 * stands and sends heartbeats; lists filter by status / model / dataset and page by cursor without the
 * epoch histories; the job itself shows the configuration it runs with (defaults filled in) and early
 * stopping. Jobs wait deterministically on a Kiln without the training role; a second Kiln with only
 * that role (same database and queues: the split deployment) then runs one.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startKiln } from '../../src/bootstrap';
import { loadConfig } from '../../src/platform/config/kiln-config';
import type { RunningKiln } from '../../src/platform/lifecycle/run-process';
import { createRootLogger } from '../../src/platform/logging/logging';
import { createDataset, readyVersion, toCsv } from '../ingestion/ingestion-helpers';
import { irisSpecies } from '../support/public-datasets';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

interface SseEvent {
  event: string;
  data: any;
}

/** Reads server-sent events until `until` returns true for the events so far (or the time runs out). */
async function readEvents(kiln: TestKiln, id: string, until: (events: SseEvent[]) => boolean, timeoutMs = 15_000): Promise<SseEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(`${kiln.url}/api/training-jobs/${id}/events`, {
      headers: { authorization: `Bearer ${kiln.adminKey}` },
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
      if (until(events)) break;
    }
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return events;
}

async function main(): Promise<void> {
  const skip = await skipUnless('embedded');
  describe('training jobs API: queue position, heartbeat, filters, paging, resolved configuration', { skip }, () => {
    let kiln: TestKiln;
    let worker: RunningKiln | undefined;
    let datasetId: string;
    let versionId: string;
    const ids: Record<string, string> = {};

    const submit = async (modelName: string, extra: object = {}): Promise<string> => {
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: { datasetVersionId: versionId, target: 'species', modelName, ...extra },
      });
      assert.equal(res.status, 202, res.text);
      return res.body.id as string;
    };

    before(async () => {
      // No training role: jobs stay queued until a worker appears.
      kiln = await startTestKiln('embedded', { KILN_ROLES: 'gateway,ingestion' });
      datasetId = await createDataset(kiln, 'iris');
      const iris = irisSpecies();
      versionId = (await readyVersion(kiln, datasetId, toCsv(iris.table.rows as any), { fileName: 'iris.csv' })).id;
      ids.a = await submit('iris-a');
      ids.b = await submit('iris-b', { hyperparameters: { epochs: 3, earlyStoppingPatience: 0 }, split: { test: 0.2 } });
      ids.c = await submit('iris-a', { template: 'linear', promote: 'if-better' });
    });
    after(async () => {
      await worker?.close();
      await kiln?.close();
    });

    it('a queued job streams `queued` with its position, then heartbeats', async () => {
      const events = await readEvents(kiln, ids.c!, (e) => e.some((x) => x.event === 'heartbeat'), 20_000);
      assert.equal(events[0]?.event, 'queued', JSON.stringify(events));
      assert.deepEqual(events[0]!.data, { status: 'queued', position: 3, running: 0 });
      const heartbeat = events.find((e) => e.event === 'heartbeat');
      assert.ok(heartbeat, `a heartbeat within 20 s: ${JSON.stringify(events)}`);
      assert.equal(heartbeat.data.status, 'queued');
      assert.ok(!Number.isNaN(Date.parse(heartbeat.data.at)));
      const first = await readEvents(kiln, ids.a!, (e) => e.length > 0);
      assert.deepEqual(first[0]!.data, { status: 'queued', position: 1, running: 0 });
    });

    it('lists filter by status, model and dataset, without histories', async () => {
      const all = await kiln.request('GET', '/api/training-jobs');
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.map((j: any) => j.id),
        [ids.c, ids.b, ids.a],
        'newest first',
      );
      for (const j of all.body) assert.equal('history' in j, false, 'no epoch history in lists');
      const byModel = await kiln.request('GET', '/api/training-jobs?model=iris-a');
      assert.deepEqual(
        byModel.body.map((j: any) => j.id),
        [ids.c, ids.a],
      );
      assert.equal((await kiln.request('GET', '/api/training-jobs?status=queued')).body.length, 3);
      assert.equal((await kiln.request('GET', '/api/training-jobs?status=running,succeeded')).body.length, 0);
      for (const dataset of [datasetId, 'iris', versionId]) {
        assert.equal((await kiln.request('GET', `/api/training-jobs?dataset=${dataset}`)).body.length, 3, dataset);
      }
      assert.deepEqual((await kiln.request('GET', '/api/training-jobs?dataset=no-such-dataset')).body, []);
      assert.deepEqual((await kiln.request('GET', `/api/training-jobs?dataset=${randomUUID()}`)).body, []);
    });

    it('pages by cursor: x-next-cursor and link rel="next" until the last page', async () => {
      const first = await kiln.request('GET', '/api/training-jobs?limit=2&model=iris-a&status=queued');
      assert.equal(first.body.length, 2);
      assert.deepEqual(
        first.body.map((j: any) => j.id),
        [ids.c, ids.a],
      );
      assert.equal(first.headers.get('x-next-cursor'), null, 'exactly two match: no next page');
      const p1 = await kiln.request('GET', '/api/training-jobs?limit=2');
      const cursor = p1.headers.get('x-next-cursor');
      assert.equal(cursor, ids.b);
      const link = p1.headers.get('link')!;
      assert.match(link, /^<\/api\/training-jobs\?limit=2&cursor=[0-9a-f-]{36}>; rel="next"$/);
      const p2 = await kiln.request('GET', link.slice(1, link.indexOf('>')));
      assert.deepEqual(
        p2.body.map((j: any) => j.id),
        [ids.a],
      );
      assert.equal(p2.headers.get('x-next-cursor'), null);
      assert.equal(p2.headers.get('link'), null);
    });

    it('refuses malformed filters with a 400 naming the parameter', async () => {
      const cases: Array<[string, string]> = [
        ['status=bogus', 'status'],
        ['status=queued,nope', 'status'],
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=ten', 'limit'],
        ['cursor=nope', 'cursor'],
        [`cursor=${randomUUID()}`, 'cursor'],
        ['model=' + 'm'.repeat(129), 'model'],
        ['colour=red', 'colour'],
      ];
      for (const [query, field] of cases) {
        const res = await kiln.request('GET', `/api/training-jobs?${query}`);
        assert.equal(res.status, 400, `${query}: ${res.text}`);
        assert.ok(
          res.body.errors.some((e: any) => e.field === field),
          `${query}: ${res.text}`,
        );
      }
    });

    it('the job itself shows its history, resolved configuration and early stopping', async () => {
      const a = (await kiln.request('GET', `/api/training-jobs/${ids.a}`)).body;
      assert.deepEqual(a.history, []);
      assert.deepEqual(a.spec, { target: 'species' }, 'spec: what was sent');
      assert.equal(a.resolved.template, 'mlp');
      assert.deepEqual(a.resolved.hyperparameters, {
        epochs: 50,
        batchSize: 32,
        learningRate: 0.001,
        hiddenUnits: [64, 32],
        dropout: 0.1,
        l2: 1e-4,
        earlyStoppingPatience: 5,
        classWeights: null,
        seed: 42,
      });
      assert.deepEqual(a.resolved.split, { validation: 0.15, test: 0.15, stratify: null });
      assert.equal(a.resolved.task, null, 'inferred from the data when the job runs');
      assert.equal(a.resolved.promote, 'never');
      assert.deepEqual(a.earlyStopping, { patience: 5, bestEpoch: null, epochsCompleted: 0, stoppedEarly: false });
      const c = (await kiln.request('GET', `/api/training-jobs/${ids.c}`)).body;
      assert.deepEqual(c.resolved.hyperparameters.hiddenUnits, []);
      assert.equal(c.resolved.hyperparameters.dropout, 0);
      assert.equal(c.resolved.promote, 'if-better');
    });

    it('once a training worker runs it: bestEpoch and the resolved task match the registered version', async () => {
      for (const id of [ids.a, ids.c]) assert.equal((await kiln.request('POST', `/api/training-jobs/${id}/cancel`)).status, 202);
      const b0 = await readEvents(kiln, ids.b!, (e) => e.length > 0);
      assert.deepEqual(b0[0]!.data, { status: 'queued', position: 1, running: 0 }, 'first in line once the others are cancelled');
      const config = loadConfig({ ...kiln.env, KILN_ROLES: 'training', DATABASE_URL: kiln.databaseUrl });
      worker = await startKiln(config, createRootLogger(config));
      const b = await eventually(async () => {
        const res = await kiln.request('GET', `/api/training-jobs/${ids.b}`);
        return ['succeeded', 'failed'].includes(res.body.status) ? res.body : undefined;
      }, 120_000);
      assert.equal(b.status, 'succeeded', JSON.stringify(b.error));
      assert.equal(b.history.length, 3);
      const version = (await kiln.request('GET', `/api/models/iris-b/versions/${b.modelVersion.version}`)).body;
      assert.equal(b.earlyStopping.bestEpoch, version.lineage.bestEpoch);
      assert.equal(b.earlyStopping.epochsCompleted, 3);
      assert.equal(b.earlyStopping.patience, 0);
      assert.equal(b.earlyStopping.stoppedEarly, false);
      const lowest = [...b.history].sort((x: any, y: any) => x.valLoss - y.valLoss || x.epoch - y.epoch)[0].epoch;
      assert.equal(b.earlyStopping.bestEpoch, lowest);
      assert.equal(b.resolved.task, 'multiclass');
      assert.deepEqual(b.resolved.split, { validation: 0.15, test: 0.2, stratify: true });
      assert.equal(b.resolved.promoteMetric, 'macroF1');
      assert.deepEqual(b.resolved.features, ['sepalLength', 'sepalWidth', 'petalLength', 'petalWidth']);
      assert.equal(b.resolved.hyperparameters.epochs, 3);
      const listed = (await kiln.request('GET', '/api/training-jobs?status=succeeded')).body;
      assert.deepEqual(
        listed.map((j: any) => j.id),
        [ids.b],
      );
      assert.equal(listed[0].progress.epoch, 3, 'lists keep the last epoch');
    });
  });
}

void main();
