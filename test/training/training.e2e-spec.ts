/**
 * Training and the model registry end to end on the machine's PostgreSQL with the PostgreSQL queue
 * backend: a public table (vega-datasets penguins) uploaded through the ingestion API, a multiclass
 * training job on the `training` queue (train() in a worker thread), the registered model version,
 * and the `production` alias with its history.
 */
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { JobName, jobId, QueueName, type TrainingRunJobPayload } from '../../src/contracts';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { succeededTrainingJob, trainingJobUntil } from '../utils/training-jobs';
import { createDataset, penguinsRows, readyVersion, vegaFile } from '../ingestion/ingestion-helpers';

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('training and model registry on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let version: any;
    let job: any;
    const penguins = penguinsRows();

    before(async () => {
      kiln = await startTestKiln('postgres');
      const datasetId = await createDataset(kiln, 'penguins');
      version = await readyVersion(kiln, datasetId, vegaFile('penguins.json'), { fileName: 'penguins.json' });
    });
    after(async () => {
      await kiln?.close();
    });

    it('rejects invalid references before queueing anything', async () => {
      const base = { datasetVersionId: version.id, target: 'Species', modelName: 'penguins-species' };
      const unknown = await kiln.request('POST', '/api/training-jobs', { body: { ...base, datasetVersionId: randomUUID() } });
      assert.equal(unknown.status, 404, unknown.text);
      assert.match(unknown.body.detail, /datasetVersionId/);
      const noColumn = await kiln.request('POST', '/api/training-jobs', { body: { ...base, target: 'Wingspan' } });
      assert.equal(noColumn.status, 400, noColumn.text);
      assert.equal(noColumn.body.errors[0].field, 'target');
      const regression = await kiln.request('POST', '/api/training-jobs', { body: { ...base, task: 'regression' } });
      assert.equal(regression.status, 400, regression.text);
      assert.equal(regression.body.errors[0].field, 'task');
      const badFeature = await kiln.request('POST', '/api/training-jobs', { body: { ...base, features: ['Island', 'Tail'] } });
      assert.equal(badFeature.status, 400, badFeature.text);
      assert.equal(badFeature.body.errors[0].field, 'features.1');
      const badEpochs = await kiln.request('POST', '/api/training-jobs', { body: { ...base, hyperparameters: { epochs: 0 } } });
      assert.equal(badEpochs.status, 400, badEpochs.text);
      assert.ok(
        badEpochs.body.errors.some((e: any) => e.field === 'hyperparameters.epochs'),
        badEpochs.text,
      );
      const list = await kiln.request('GET', '/api/training-jobs');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, [], 'nothing was queued');
      const missing = await kiln.request('GET', `/api/training-jobs/${randomUUID()}`);
      assert.equal(missing.status, 404);
      const noModel = await kiln.request('GET', '/api/models/no-such-model');
      assert.equal(noModel.status, 404);
    });

    it('trains a multiclass model on species and registers exactly one version', async () => {
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId: version.id,
          target: 'Species',
          modelName: 'penguins-species',
          hyperparameters: { epochs: 15, batchSize: 16, learningRate: 0.01, hiddenUnits: [16], seed: 7 },
        },
      });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.status, 'queued');
      const id = res.body.id as string;
      // The API answers while the model trains (train() runs in a worker thread).
      const health = await kiln.request('GET', '/health/live', { key: null });
      assert.equal(health.status, 200);
      job = await succeededTrainingJob(kiln, id);
      assert.equal(job.progress.epochs, 15);
      assert.ok(job.history.length >= 1 && job.history.length <= 15);
      assert.deepEqual(job.modelVersion, { model: 'penguins-species', version: 1 });
      assert.equal(job.checkpointEpoch, job.history.length, 'a checkpoint per epoch');
      // Majority class (Adelie) is 152/344 ≈ 0.44: a trivial model cannot reach 0.85.
      const counts = new Map<string, number>();
      for (const r of penguins) counts.set(String(r.Species), (counts.get(String(r.Species)) ?? 0) + 1);
      const majority = Math.max(...counts.values()) / penguins.length;
      assert.ok(majority < 0.5);
      assert.ok(job.metrics.test.accuracy >= 0.85, `test accuracy ${job.metrics.test.accuracy}`);
      assert.ok(job.metrics.test.macroF1 >= 0.8, `test macroF1 ${job.metrics.test.macroF1}`);
    });

    it('serves the version from the registry with signature, preprocessing, metrics and lineage', async () => {
      const models = await kiln.request('GET', '/api/models');
      assert.equal(models.status, 200);
      assert.deepEqual(
        models.body.map((m: any) => [m.name, m.latestVersion]),
        [['penguins-species', 1]],
      );
      const versions = await kiln.request('GET', '/api/models/penguins-species/versions');
      assert.equal(versions.body.length, 1);
      const v = (await kiln.request('GET', '/api/models/penguins-species/versions/1')).body;
      assert.equal(v.source, 'trained');
      assert.equal(v.task, 'multiclass');
      assert.deepEqual([...v.target.classes].sort(), [...counts()].sort());
      assert.deepEqual(
        v.signature.features.map((f: any) => f.name).sort(),
        ['Beak Depth (mm)', 'Beak Length (mm)', 'Body Mass (g)', 'Flipper Length (mm)', 'Island', 'Sex'].sort(),
      );
      assert.ok(v.preprocessing);
      assert.deepEqual(v.metrics, job.metrics);
      assert.equal(v.lineage.datasetVersionId, version.id);
      assert.equal(v.lineage.trainingJobId, job.id);
      assert.equal(v.lineage.hyperparameters.epochs, 15);
      assert.equal(v.lineage.hyperparameters.seed, 7);
      assert.ok(['wasm', 'cpu', 'tensorflow'].includes(v.lineage.backend), v.lineage.backend);
      assert.ok(v.lineage.durationMs > 0);
      const missing = await kiln.request('GET', '/api/models/penguins-species/versions/2');
      assert.equal(missing.status, 404);

      function counts(): string[] {
        return [...new Set(penguins.map((r) => String(r.Species)))];
      }
    });

    it('moves the production alias atomically and records its history', async () => {
      const set = await kiln.request('PUT', '/api/models/penguins-species/aliases/production', { body: { version: 1 } });
      assert.equal(set.status, 200, set.text);
      assert.deepEqual([set.body.from, set.body.to], [null, 1]);
      const model = await kiln.request('GET', '/api/models/penguins-species');
      assert.deepEqual(model.body.aliases, { production: 1 });
      const v = await kiln.request('GET', '/api/models/penguins-species/versions/1');
      assert.deepEqual(v.body.aliases, ['production']);
      const bad = await kiln.request('PUT', '/api/models/penguins-species/aliases/production', { body: { version: 9 } });
      assert.equal(bad.status, 404, bad.text);
      const badBody = await kiln.request('PUT', '/api/models/penguins-species/aliases/production', { body: { version: 'one' } });
      assert.equal(badBody.status, 400, badBody.text);
      const del = await kiln.request('DELETE', '/api/models/penguins-species/aliases/production');
      assert.equal(del.status, 200, del.text);
      const history = await kiln.request('GET', '/api/models/penguins-species/aliases/production/history');
      assert.equal(history.status, 200);
      assert.deepEqual(
        history.body.map((h: any) => [h.from, h.to]),
        [
          [null, 1],
          [1, null],
        ],
      );
      assert.ok(history.body.every((h: any) => typeof h.changedBy === 'string' && h.changedAt));
      // Writes need the developer role.
      const created = await kiln.request('POST', '/api/keys', { body: { name: 'reader', role: 'predictor' } });
      assert.equal(created.status, 201, created.text);
      const denied = await kiln.request('PUT', '/api/models/penguins-species/aliases/staging', {
        key: created.body.key,
        body: { version: 1 },
      });
      assert.equal(denied.status, 403, denied.text);
      const read = await kiln.request('GET', '/api/models/penguins-species', { key: created.body.key });
      assert.equal(read.status, 200, read.text);
      const train = await kiln.request('POST', '/api/training-jobs', {
        key: created.body.key,
        body: { datasetVersionId: version.id, target: 'Species', modelName: 'x' },
      });
      assert.equal(train.status, 403, train.text);
    });

    it('cancels a running job at the next batch and registers nothing', async () => {
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId: version.id,
          target: 'Species',
          modelName: 'penguins-species',
          hyperparameters: { epochs: 2000, batchSize: 8, earlyStoppingPatience: 0 },
        },
      });
      assert.equal(res.status, 202, res.text);
      const id = res.body.id as string;
      await eventually(async () => {
        const r = await kiln.request('GET', `/api/training-jobs/${id}`);
        return r.body.status === 'running' && r.body.progress?.epoch >= 1 ? r.body : undefined;
      }, 30_000);
      const cancel = await kiln.request('POST', `/api/training-jobs/${id}/cancel`);
      assert.equal(cancel.status, 202, cancel.text);
      assert.equal(cancel.body.cancelRequested, true);
      const done = await eventually(async () => {
        const r = await kiln.request('GET', `/api/training-jobs/${id}`);
        return r.body.status === 'running' ? undefined : r.body;
      }, 15_000);
      assert.equal(done.status, 'cancelled', JSON.stringify(done));
      // stopped at once, not after running on to the end (2000 epochs)
      assert.ok(done.progress.epoch < 1000, `stopped at epoch ${done.progress.epoch}`);
      assert.equal(done.modelVersion, null);
      const versions = await kiln.request('GET', '/api/models/penguins-species/versions');
      assert.equal(versions.body.length, 1, 'nothing registered');
      const again = await kiln.request('POST', `/api/training-jobs/${id}/cancel`);
      assert.equal(again.status, 409, again.text);
    });

    it('a retried job resumes from its last epoch checkpoint and registers exactly one version', async () => {
      const epochs = 30;
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId: version.id,
          target: 'Species',
          modelName: 'penguins-resume',
          hyperparameters: { epochs, batchSize: 4, earlyStoppingPatience: 0, hiddenUnits: [16], seed: 3 },
        },
      });
      assert.equal(res.status, 202, res.text);
      const id = res.body.id as string;
      // Interrupt it after a few epochs (cancel), then make it look like a crashed run that BullMQ retries.
      await trainingJobUntil(kiln, id, (job) => (job.checkpointEpoch >= 2 ? job : undefined));
      await kiln.request('POST', `/api/training-jobs/${id}/cancel`);
      const interrupted = await trainingJobUntil(kiln, id, (job) => (job.status === 'cancelled' ? job : undefined));
      const resumeAt = interrupted.checkpointEpoch as number;
      assert.ok(resumeAt >= 2 && resumeAt < epochs, `checkpoint at ${resumeAt}`);
      const pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
      try {
        await pg.query(`UPDATE training_jobs SET status = 'running', cancel_requested = false, finished_at = NULL WHERE id = $1`, [id]);
      } finally {
        await pg.end();
      }
      const queue = kiln.app.get<Queue>(getQueueToken(QueueName.Training));
      const qid = jobId(JobName.TrainingRunJob, id);
      await (await queue.getJob(qid))?.remove();
      const payload: TrainingRunJobPayload = { payloadVersion: 1, trainingJobId: id };
      await queue.add(JobName.TrainingRunJob, payload, { jobId: qid });

      // No fixed wait for the resumed run: it fails only if the job stops progressing (or fails).
      const done = await succeededTrainingJob(kiln, id);
      assert.deepEqual(done.modelVersion, { model: 'penguins-resume', version: 1 });
      assert.deepEqual(
        done.history.map((h: any) => h.epoch),
        Array.from({ length: epochs }, (_, i) => i + 1),
      );
      const v = (await kiln.request('GET', '/api/models/penguins-resume/versions/1')).body;
      assert.equal(v.lineage.resumedFromEpoch, resumeAt);
      assert.equal(v.lineage.epochsCompleted, epochs);
      assert.equal((await kiln.request('GET', '/api/models/penguins-resume/versions')).body.length, 1);
      // A replay of a finished job changes nothing.
      await (await queue.getJob(qid))?.remove();
      const replay = await queue.add(JobName.TrainingRunJob, payload, { jobId: qid });
      const result = await eventually(async () => ((await replay.isCompleted()) ? (await queue.getJob(qid))?.returnvalue : undefined));
      assert.equal(result.status, 'succeeded');
      assert.equal((await kiln.request('GET', '/api/models/penguins-resume/versions')).body.length, 1);
    });
  });
}

void main();
