/**
 * Waiting for training jobs in tests. How long training takes is the machine's business (a loaded
 * 2-core CI machine is many times slower than a quiet one), so no wait here has a fixed limit on the
 * whole run: it fails when the job stops making progress, or at once when the job fails.
 */
import assert from 'node:assert/strict';
import type { KilnClient } from './test-kiln';

export interface JobWait {
  /** Fail when the job's status, epoch and checkpoint stay the same this long (default 2 min). */
  stallMs?: number;
  /** Fail past this long in all, however the job progresses (default 15 min). */
  capMs?: number;
  /** Poll interval (default 200 ms). */
  intervalMs?: number;
}

/**
 * Polls `GET /api/training-jobs/:id` until `done(job)` returns a value; fails at once when the job
 * fails or is cancelled (unless `done` accepts that), and when it stalls (see JobWait).
 */
export async function trainingJobUntil<T>(
  kiln: KilnClient,
  id: string,
  done: (job: any) => T | undefined,
  { stallMs = 120_000, capMs = 900_000, intervalMs = 200 }: JobWait = {},
): Promise<T> {
  const started = Date.now();
  let seen = '';
  let changedAt = started;
  for (;;) {
    const r = await kiln.request('GET', `/api/training-jobs/${id}`);
    assert.equal(r.status, 200, r.text);
    const job = r.body;
    const value = done(job);
    if (value !== undefined) return value;
    if (job.status === 'failed' || job.status === 'cancelled') assert.fail(`job ${job.status}: ${JSON.stringify(job.error)}`);
    const now = Date.now();
    const state = JSON.stringify([job.status, job.progress?.epoch, job.checkpointEpoch, job.history?.length]);
    if (state !== seen) {
      seen = state;
      changedAt = now;
    }
    if (now - changedAt > stallMs) assert.fail(`job ${id} made no progress for ${stallMs} ms: ${state}`);
    if (now - started > capMs) assert.fail(`job ${id} not done within ${capMs} ms: ${state}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The job once it succeeded (see trainingJobUntil). */
export function succeededTrainingJob(kiln: KilnClient, id: string, wait: JobWait = {}): Promise<any> {
  return trainingJobUntil(kiln, id, (job) => (job.status === 'succeeded' ? job : undefined), wait);
}
