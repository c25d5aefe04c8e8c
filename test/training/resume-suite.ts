/**
 * kill -9 during training and resume, for any kind of job: the real process (`node dist/src/main.js`)
 * on the machine's PostgreSQL trains a long job; once epoch checkpoints are durable it is killed with
 * SIGKILL. A new process finds the job's queue lock expired (KILN_TRAINING_LOCK_MS=3000 here; 30 s by
 * default), the stalled check puts the job back to waiting, and the retry resumes from the last
 * checkpoint: one progress entry per epoch, the version's lineage says resumedFromEpoch > 0 and exactly
 * one model version is registered. Used by test/training/resume.e2e-spec.ts (tabular) and
 * test/recommend/recommender-resume.e2e-spec.ts (recommender).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { spawnerWithCleanup, untilReady } from '../utils/spawn-kiln';
import { kilnClient, skipUnless, testEnvironment, type KilnClient } from '../utils/test-kiln';
import { succeededTrainingJob, trainingJobUntil } from '../utils/training-jobs';

const LOCK_MS = 3_000;

export interface ResumeCase {
  /** What trains, for the suite's title ("training", "recommender training"). */
  what: string;
  modelName: string;
  epochs: number;
  /** Uploads the job's dataset through `kiln`; returns the training job's body (modelName and epochs are added). */
  job(kiln: KilnClient): Promise<{ hyperparameters: Record<string, unknown> } & Record<string, unknown>>;
  /** Checks of the finished job particular to its kind (its test metrics). */
  checkDone(job: any): void;
}

export async function resumeSuite(c: ResumeCase): Promise<void> {
  const skip = await skipUnless('postgres');
  describe(`${c.what} survives kill -9 of the process (configuration "postgres")`, { skip }, () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const cleanup of cleanups) await cleanup();
    });
    const spawn = spawnerWithCleanup(cleanups);

    it('resumes from the last checkpoint after SIGKILL and registers exactly one version', async () => {
      const { env, cleanup } = await testEnvironment('postgres', { KILN_TRAINING_LOCK_MS: String(LOCK_MS) });
      cleanups.push(cleanup);
      const first = spawn(env);
      const url1 = await first.url;
      await untilReady(url1);
      const k1 = kilnClient(url1, env.KILN_ADMIN_KEY!);
      const body = await c.job(k1);
      const created = await k1.request('POST', '/api/training-jobs', {
        body: { ...body, modelName: c.modelName, hyperparameters: { ...body.hyperparameters, epochs: c.epochs } },
      });
      assert.equal(created.status, 202, created.text);
      const id = created.body.id as string;
      const atKill = await trainingJobUntil(
        k1,
        id,
        (job) => (job.status === 'running' && (job.checkpointEpoch ?? 0) >= 3 ? job : undefined),
        { intervalMs: 20 },
      );
      first.child.kill('SIGKILL');
      await first.exited;
      assert.ok(atKill.checkpointEpoch < c.epochs, 'killed mid-training');

      const second = spawn(env);
      const url2 = await second.url;
      await untilReady(url2);
      const k2 = kilnClient(url2, env.KILN_ADMIN_KEY!);
      const before = await k2.request('GET', `/api/training-jobs/${id}`);
      assert.equal(before.body.status, 'running', 'the killed job is still running in the database');
      assert.ok(before.body.checkpointEpoch >= atKill.checkpointEpoch);
      const done = await succeededTrainingJob(k2, id).catch((e: Error) => {
        throw new Error(`${e.message}\n${second.output().slice(-3000)}`);
      });
      assert.ok(done.attempts >= 2, `attempts ${done.attempts}`);
      assert.deepEqual(
        done.history.map((h: any) => h.epoch),
        Array.from({ length: c.epochs }, (_, i) => i + 1),
        'one progress entry per epoch, none lost or repeated across the kill',
      );
      const versions = await k2.request('GET', `/api/models/${c.modelName}/versions`);
      assert.equal(versions.status, 200, versions.text);
      assert.equal(versions.body.length, 1, 'exactly one model version');
      const v = await k2.request('GET', `/api/models/${c.modelName}/versions/1`);
      assert.ok(v.body.lineage.resumedFromEpoch >= atKill.checkpointEpoch, `resumedFromEpoch ${v.body.lineage.resumedFromEpoch}`);
      assert.ok(v.body.lineage.resumedFromEpoch > 0);
      assert.equal(v.body.lineage.epochsCompleted, c.epochs);
      c.checkDone(done);

      second.child.kill('SIGTERM');
      await second.exited;
    });
  });
}
