import type { LoggerService, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { QueuedJob } from './commit-then-enqueue';
import { ORPHAN_GRACE_MS, sweepOrphansPeriodically, type CancellableJobColumns, type CancellableJobRows } from './queued-job-row';

/**
 * A domain service whose job rows a crash may leave without their queue job (committed, not yet
 * queued): every replica runs an orphan sweep (queued-job-row.ts `requeueOrphans`) when the
 * application starts and then once a minute, and stops it when the module is destroyed. Training jobs
 * and batch predictions share these lifecycle hooks; each says only how its rows are queued.
 */
export abstract class OrphanSweepingService<T extends CancellableJobColumns> implements OnApplicationBootstrap, OnModuleDestroy {
  protected abstract readonly rows: CancellableJobRows<T>;
  protected abstract readonly logger: Pick<LoggerService, 'log' | 'warn'>;
  private stopSweep: () => void = () => undefined;

  /** The queue job that runs row `j` (its id derived from the row's, so it is queued at most once). */
  protected abstract queueJob(j: T): QueuedJob;

  onApplicationBootstrap(): void {
    this.stopSweep = sweepOrphansPeriodically(this.logger, this.rows.noun, () => this.requeueOrphans());
  }

  /** One pass of the orphan sweep; tests call it instead of waiting a minute. */
  requeueOrphans(): Promise<string[]> {
    return this.rows.requeueOrphans((j) => this.queueJob(j), ORPHAN_GRACE_MS);
  }

  onModuleDestroy(): void {
    this.stopSweep();
  }
}
