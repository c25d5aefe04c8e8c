/**
 * kill -9 while a recommender trains, and resume: the real process (`node dist/src/main.js`) on the
 * machine's PostgreSQL trains a recommender (template `recommender`, planted-group interactions);
 * once epoch checkpoints are durable it is killed with SIGKILL. A new process picks the stalled job
 * up and resumes from the last checkpoint: one progress entry per epoch, exactly one version, its
 * lineage saying resumedFromEpoch > 0. (The same path as tabular jobs: test/training/resume.e2e-spec.ts.)
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { spawnKiln } from '../utils/spawn-kiln';
import { eventually, httpRequest, skipUnless, testEnvironment, type TestKiln } from '../utils/test-kiln';
import { createDataset, readyVersion } from '../ingestion/ingestion-helpers';
import { plantedInteractions } from '../support/planted-interactions';
import { interactionsCsv } from './recommend-helpers';

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
  describe('recommender training survives kill -9 of the process (configuration "postgres")', { skip }, () => {
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
      const planted = plantedInteractions({ seed: 11 });
      const version = await readyVersion(k1, await createDataset(k1, 'planted'), interactionsCsv(planted.rows), {
        fileName: 'planted.csv',
      });
      const epochs = 40;
      const created = await k1.request('POST', '/api/training-jobs', {
        body: {
          template: 'recommender',
          datasetVersionId: version.id,
          columns: { user: 'user', item: 'item', timestamp: 'ts' },
          modelName: 'planted-resume',
          hyperparameters: { epochs, batchSize: 256, seed: 5, earlyStoppingPatience: 0 },
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
      const versions = await k2.request('GET', '/api/models/planted-resume/versions');
      assert.equal(versions.status, 200, versions.text);
      assert.equal(versions.body.length, 1, 'exactly one model version');
      const v = await k2.request('GET', '/api/models/planted-resume/versions/1');
      assert.ok(v.body.lineage.resumedFromEpoch >= atKill.checkpointEpoch, `resumedFromEpoch ${v.body.lineage.resumedFromEpoch}`);
      assert.ok(v.body.lineage.resumedFromEpoch > 0);
      assert.equal(v.body.lineage.epochsCompleted, epochs);
      assert.ok(done.metrics.test.ndcgAtK > done.metrics.test.baseline.ndcgAtK, JSON.stringify(done.metrics.test));

      second.child.kill('SIGTERM');
      await second.exited;
    });
  });
}

void main();
