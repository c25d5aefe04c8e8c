/**
 * BullMQ worker options of the `training` queue, from the validated configuration
 * (`KilnConfig.training`: KILN_TRAINING_CONCURRENCY, KILN_TRAINING_LOCK_MS):
 *
 *   concurrency    jobs trained at once per process (default 1; each in its own long-lived worker
 *                  thread from the training pool, train-runner.ts)
 *   lockDuration   the job lock; a worker that died (kill -9) stops renewing it and the job is moved
 *                  back to waiting by the stalled check (run every lock period) and retried from its
 *                  last checkpoint. Default 30 000 ms (BullMQ's default).
 *
 * Nest's @Processor takes static options, evaluated when the class is declared, and BullMQ reads them
 * when the Worker is constructed (its lock manager copies lockDuration then), so they cannot be set on
 * the worker afterwards: TrainingWorkersModule.forRoot declares a processor subclass per configuration.
 */
import type { WorkerOptions } from 'bullmq';
import type { TrainingConfig } from '../platform/config/kiln-config';

export function trainingWorkerOptions(training: TrainingConfig): Partial<WorkerOptions> {
  return { concurrency: training.concurrency, lockDuration: training.lockMs, stalledInterval: training.lockMs };
}
