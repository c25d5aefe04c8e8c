/**
 * kill -9 during training and resume: the real process (`node dist/src/main.js`) on the machine's
 * PostgreSQL trains a long job; once epoch checkpoints are durable it is killed with SIGKILL. A new
 * process finds the job's queue lock expired (KILN_TRAINING_LOCK_MS=3000 here; 30 s by default), the
 * stalled check puts the job back to waiting, and the retry resumes from the last checkpoint: the
 * version's lineage says resumedFromEpoch > 0 and exactly one model version is registered.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { spawnKiln } from '../utils/spawn-kiln';
import { eventually, httpRequest, skipUnless, testEnvironment, type TestKiln } from '../utils/test-kiln';
import { createDataset, readyVersion, toCsv, vegaFile, type JsonRow } from '../ingestion/ingestion-helpers';

const LOCK_MS = 3_000;

/** Just enough of TestKiln for the ingestion helpers, against a spawned process. */
function client(url: string, adminKey: string): TestKiln {
  return {
    url,
    adminKey,
    request: (method: string, path: string, options?: object) => httpRequest(url, adminKey, method, path, options),
  } as unknown as TestKiln;
}

async function ready(url: string): Promise<void> {
  await eventually(async () => ((await fetch(`${url}/health/ready`)).status === 200 ? true : undefined), 30_000);
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('training survives kill -9 of the process (configuration "postgres")', { skip }, () => {
    const cleanups: Array<() => Promise<void>> = [];
    const children: ChildProcess[] = [];
    after(async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const c of cleanups) await c();
    });

    it('resumes from the last checkpoint after SIGKILL and registers exactly one version', async () => {
      const { env, cleanup } = await testEnvironment('postgres', { KILN_TRAINING_LOCK_MS: String(LOCK_MS) });
      cleanups.push(cleanup);
      const first = spawnKiln(env);
      children.push(first.child);
      const url1 = await first.url;
      await ready(url1);
      const k1 = client(url1, env.KILN_ADMIN_KEY!);
      const cars = (JSON.parse(vegaFile('cars.json').toString('utf8')) as JsonRow[]).map((c) => ({
        Origin: c.Origin ?? null,
        Horsepower: c.Horsepower ?? null,
        Weight_in_lbs: c.Weight_in_lbs ?? null,
        Cylinders: c.Cylinders ?? null,
        Miles_per_Gallon: c.Miles_per_Gallon ?? null,
      }));
      const version = await readyVersion(k1, await createDataset(k1, 'cars'), toCsv(cars), { fileName: 'cars.csv' });
      const epochs = 100;
      const created = await k1.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId: version.id,
          target: 'Miles_per_Gallon',
          modelName: 'cars-resume',
          hyperparameters: { epochs, batchSize: 8, learningRate: 0.001, hiddenUnits: [32, 16], seed: 5, earlyStoppingPatience: 10_000 },
        },
      });
      assert.equal(created.status, 202, created.text);
      const id = created.body.id as string;
      const atKill = await eventually(
        async () => {
          const r = await k1.request('GET', `/api/training-jobs/${id}`);
          return r.body.status === 'running' && (r.body.checkpointEpoch ?? 0) >= 3 ? r.body : undefined;
        },
        60_000,
        20,
      );
      first.child.kill('SIGKILL');
      await first.exited;
      assert.ok(atKill.checkpointEpoch < epochs, 'killed mid-training');

      const second = spawnKiln(env);
      children.push(second.child);
      const url2 = await second.url;
      await ready(url2);
      const k2 = client(url2, env.KILN_ADMIN_KEY!);
      const before = await k2.request('GET', `/api/training-jobs/${id}`);
      assert.equal(before.body.status, 'running', 'the killed job is still running in the database');
      assert.ok(before.body.checkpointEpoch >= atKill.checkpointEpoch);
      const done = await eventually(
        async () => {
          const r = await k2.request('GET', `/api/training-jobs/${id}`);
          if (r.body.status === 'failed' || r.body.status === 'cancelled')
            assert.fail(`job ${r.body.status}: ${JSON.stringify(r.body.error)}\n${second.output().slice(-3000)}`);
          return r.body.status === 'succeeded' ? r.body : undefined;
        },
        180_000,
        250,
      );
      assert.ok(done.attempts >= 2, `attempts ${done.attempts}`);
      assert.deepEqual(
        done.history.map((h: any) => h.epoch),
        Array.from({ length: epochs }, (_, i) => i + 1),
        'one progress entry per epoch, none lost or repeated across the kill',
      );
      const versions = await k2.request('GET', '/api/models/cars-resume/versions');
      assert.equal(versions.status, 200, versions.text);
      assert.equal(versions.body.length, 1, 'exactly one model version');
      const v = await k2.request('GET', '/api/models/cars-resume/versions/1');
      assert.ok(v.body.lineage.resumedFromEpoch >= atKill.checkpointEpoch, `resumedFromEpoch ${v.body.lineage.resumedFromEpoch}`);
      assert.ok(v.body.lineage.resumedFromEpoch > 0);
      assert.equal(v.body.lineage.epochsCompleted, epochs);
      assert.ok(Number.isFinite(done.metrics.test.rmse));

      second.child.kill('SIGTERM');
      await second.exited;
    });
  });
}

void main();
