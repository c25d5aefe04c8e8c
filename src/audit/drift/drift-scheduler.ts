/**
 * Keeps one repeatable `audit.drift-check` job (a BullMQ job scheduler, id
 * `audit.drift-check__<model>`) per served model on the `audit` queue, every
 * KILN_DRIFT_INTERVAL_MS: synced from the routing snapshot at start and every SYNC_INTERVAL_MS
 * (new served models get one, models no longer served lose theirs, a changed interval is applied).
 * Runs only where the audit worker runs; replicas syncing at the same time converge (upserts and
 * removals are idempotent).
 */
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JobName, jobId, QueueName, type AuditDriftCheckPayload } from '../../contracts';
import { ModelDeployments } from '../../models';
import { KILN_CONFIG, type KilnConfig } from '../../platform/config/kiln-config';

export const SYNC_INTERVAL_MS = 30_000;
const SCHEDULER_PREFIX = jobId(JobName.AuditDriftCheck, '');

export function schedulerId(model: string): string {
  return jobId(JobName.AuditDriftCheck, model);
}

@Injectable()
export class DriftScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DriftScheduler');
  private timer: NodeJS.Timeout | null = null;
  /** Syncs run one after another in this process (the periodic one and any explicit call). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    @InjectQueue(QueueName.Audit) private readonly queue: Queue,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    private readonly deployments: ModelDeployments,
  ) {}

  onApplicationBootstrap(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
  }

  private tick(): void {
    this.sync()
      .then((r) => {
        if (r.added.length || r.removed.length) this.logger.log(r, 'drift schedules synced');
      })
      .catch((e: Error) => this.logger.warn({ error: e.message }, 'drift schedules: sync failed (retried later)'));
  }

  /** Reconciles the schedulers with the served models now (after any sync already running here). */
  sync(): Promise<{ added: string[]; removed: string[] }> {
    const run = this.chain.then(() => this.reconcile());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async reconcile(): Promise<{ added: string[]; removed: string[] }> {
    const every = this.config.audit.driftIntervalMs;
    const served = new Set((await this.deployments.routingSnapshot()).models.map((m) => m.name));
    const existing = new Map(
      (await this.queue.getJobSchedulers(0, -1))
        .filter((s) => s.key.startsWith(SCHEDULER_PREFIX))
        .map((s) => [s.key.slice(SCHEDULER_PREFIX.length), s]),
    );
    const added: string[] = [];
    const removed: string[] = [];
    for (const model of served) {
      if (existing.get(model)?.every === every) continue;
      const data: AuditDriftCheckPayload = { payloadVersion: 1, model };
      await this.queue.upsertJobScheduler(
        schedulerId(model),
        { every },
        {
          name: JobName.AuditDriftCheck,
          data,
          opts: { attempts: 2, backoff: { type: 'fixed', delay: 5_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
        },
      );
      added.push(model);
    }
    for (const model of existing.keys()) {
      if (served.has(model)) continue;
      await this.queue.removeJobScheduler(schedulerId(model));
      removed.push(model);
    }
    return { added, removed };
  }
}
