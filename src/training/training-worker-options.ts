/**
 * BullMQ worker options of the `training` queue, read from the environment when the processor class
 * is declared (Nest's @Processor takes static options):
 *
 *   KILN_TRAINING_CONCURRENCY  jobs trained at once per process (default 1; each in its own long-lived worker
 *                              thread from the training pool, train-runner.ts)
 *   KILN_TRAINING_LOCK_MS      the job lock; a worker that died (kill -9) stops renewing it and the job is
 *                              moved back to waiting by the stalled check (run every lock period) and
 *                              retried from its last checkpoint. Default 30 000 ms (BullMQ's default).
 */
import type { WorkerOptions } from 'bullmq';

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid configuration: ${name}: must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function trainingWorkerOptions(): Partial<WorkerOptions> {
  const lockDuration = positiveInt('KILN_TRAINING_LOCK_MS', 30_000);
  return { concurrency: positiveInt('KILN_TRAINING_CONCURRENCY', 1), lockDuration, stalledInterval: lockDuration };
}
