/** Use cases behind the drift API: reports, on-demand checks, closed-loop settings. */
import { InjectQueue } from '@nestjs/bullmq';
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { JobName, jobId, QueueName, type AuditDriftCheckPayload, type AuditDriftCheckResult } from '../../contracts';
import { DatasetCatalog } from '../../ingestion';
import { ModelRegistry } from '../../models';
import type { AdminActor } from '../../platform/audit-trail/admin-event-outbox';
import { ValidationProblemException } from '../../platform/http/validation';
import { commitThenEnqueue } from '../../platform/queues/commit-then-enqueue';
import { QueueInspector } from '../../platform/queues/queue-inspector';
import type { DriftReportView, DriftSettingsView } from './drift-report';
import type { OnDriftDto } from './drift.dto';
import { DriftStore } from './drift-store';

export const MAX_CHECK_WAIT_SECONDS = 60;

@Injectable()
export class DriftService {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly catalog: DatasetCatalog,
    private readonly store: DriftStore,
    private readonly inspector: QueueInspector,
    @InjectQueue(QueueName.Audit) private readonly queue: Queue,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  /** 404 for an unknown model. */
  async reports(model: string, limit: number): Promise<{ model: string; latest: DriftReportView | null; history: DriftReportView[] }> {
    const { name } = await this.registry.getModel(model);
    const history = await this.store.reports(name, limit);
    return { model: name, latest: history[0] ?? null, history };
  }

  /**
   * Queues one check now (its own job id, so it runs even while a scheduled one is waiting). Its
   * `drift-check.requested` event (by `actor`) commits first and is released once the check is queued,
   * or deleted if it cannot be (commit-then-enqueue.ts): never an event without a check.
   */
  async enqueueCheck(model: string, actor: AdminActor): Promise<string> {
    const { name } = await this.registry.getModel(model);
    const payload: AuditDriftCheckPayload = { payloadVersion: 1, model: name };
    const id = jobId(JobName.AuditDriftCheck, `${name}__now__${randomUUID()}`);
    return commitThenEnqueue(this.db, {
      commit: async (m) => ({ value: id, eventIds: [await this.store.checkRequested(m, actor, name, id)] }),
      job: () => ({
        queue: this.queue,
        name: JobName.AuditDriftCheck,
        data: payload,
        opts: { jobId: id, attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      }),
      // the check is nothing but its queue job: the held event alone is taken back
      undo: async () => undefined,
    });
  }

  /** The outcome (with the stored report) once the check ended, or null after `timeoutMs`. A failed check throws. */
  async waitForCheck(id: string, timeoutMs: number): Promise<(AuditDriftCheckResult & { report: DriftReportView | null }) | null> {
    let result: AuditDriftCheckResult;
    try {
      result = await this.inspector.waitForResult<AuditDriftCheckResult>(QueueName.Audit, id, timeoutMs);
    } catch (e) {
      if (/did not finish within/.test((e as Error).message)) return null;
      throw e;
    }
    const report = result.reportId ? ((await this.store.reports(result.model, 1)).find((r) => r.id === result.reportId) ?? null) : null;
    return { ...result, report };
  }

  async settings(model: string): Promise<DriftSettingsView> {
    const { name } = await this.registry.getModel(model);
    return this.store.settings(name);
  }

  /** The dataset must exist (it may have no ready version yet: the loop uses the newest one at drift time). */
  async putSettings(model: string, onDrift: OnDriftDto | null, by: string | null, actor: AdminActor): Promise<DriftSettingsView> {
    const { name } = await this.registry.getModel(model);
    if (onDrift) {
      try {
        await this.catalog.getLatestReadyVersion(onDrift.retrainFromDatasetId);
      } catch (e) {
        if (e instanceof NotFoundException) {
          throw new ValidationProblemException([
            { field: 'onDrift.retrainFromDatasetId', reason: `dataset ${onDrift.retrainFromDatasetId} not found` },
          ]);
        }
        if (!(e instanceof ConflictException)) throw e;
      }
    }
    const settings = onDrift ? { retrainFromDatasetId: onDrift.retrainFromDatasetId, promote: onDrift.promote ?? 'if-better' } : null;
    return this.store.putSettings(name, settings, by, actor);
  }
}
