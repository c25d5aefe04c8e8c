/**
 * A process killed between committing a training job and queueing it (commit-then-enqueue.ts) leaves
 * a `queued` row without a queue job. Its client got no answer, but the row and its event are
 * committed: the orphan sweep every replica runs queues the job again, so the work is done once,
 * instead of the row staying `queued` for ever. The crash is staged in the database: a job row is
 * written as the first step of create() writes it, with no queue job, and dated past the grace period.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { TrainingJobsService } from '../../src/training/training-jobs.service';
import { createDataset, readyVersion, toCsv } from '../ingestion/ingestion-helpers';
import { irisSpecies } from '../support/public-datasets';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

async function main(): Promise<void> {
  const skip = await skipUnless('embedded');
  describe('training jobs orphaned by a crash between commit and enqueue', { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln('embedded');
    });
    after(async () => {
      await kiln?.close();
    });

    it('are queued again by the sweep and run once, making exactly one model version', async () => {
      const datasetId = await createDataset(kiln, `iris-${randomUUID().slice(0, 8)}`);
      const version = await readyVersion(kiln, datasetId, toCsv(irisSpecies().table.rows as any), { fileName: 'iris.csv' });
      const model = `orphan-${randomUUID().slice(0, 8)}`;
      const id = randomUUID();
      const db = kiln.app.get(DataSource);
      await db.query(
        `INSERT INTO training_jobs (id, status, dataset_version_id, model_name, spec, history, created_at)
         VALUES ($1, 'queued', $2, $3, $4, '[]', now() - interval '5 minutes')`,
        [id, version.id, model, JSON.stringify({ target: 'species', hyperparameters: { epochs: 3 } })],
      );
      const service = kiln.app.get(TrainingJobsService);
      const swept = await service.requeueOrphans();
      // [id]; or [] when the replica's own once-a-minute pass got there in the moment since the insert
      assert.ok(swept.length === 0 || (swept.length === 1 && swept[0] === id), `swept ${JSON.stringify(swept)}`);
      assert.deepEqual(await service.requeueOrphans(), [], 'a second pass (or another replica) queues nothing more');
      const job = await eventually(async () => {
        const r = await kiln.request('GET', `/api/training-jobs/${id}`);
        return r.body.status === 'succeeded' || r.body.status === 'failed' ? r.body : undefined;
      }, 60_000);
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      const versions = await kiln.request('GET', `/api/models/${model}/versions`);
      assert.equal(versions.status, 200);
      assert.equal(versions.body.length, 1, 'exactly one model version');
    });
  });
}

void main();
