import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JobName, QueueName, type JobResult } from '../contracts';
import { JobHandlers, type JobNameOn } from '../platform/queues/job-handlers';
import { DriftMonitor } from './drift/drift-monitor.service';
import { AuditLogWriter } from './log/audit-log.writer';
import { RetentionService } from './log/retention.service';

/**
 * The one worker of the `audit` queue (BullMQ hands any job of a queue to any of its workers, so
 * one processor dispatches by job name). Writes to the hash chains are serialised by the writer's
 * row lock on the chain head, so any number of audit replicas may run this.
 */
// A short lock: after a crash, the batch a dead worker held is picked up again within ~5 s (the
// write is idempotent), and a batch is never failed for stalling: it is retried until written.
@Processor(QueueName.Audit, { concurrency: 4, lockDuration: 5_000, stalledInterval: 5_000, maxStalledCount: 1_000 })
export class AuditProcessor extends WorkerHost {
  private readonly logger = new Logger('AuditWorker');
  readonly handlers = new JobHandlers(QueueName.Audit, [
    { name: JobName.AuditRecordBatch, handle: (job) => this.writer.writeBatch(job.data) },
    { name: JobName.AuditDriftCheck, handle: (job) => this.drift.check(job.data) },
    { name: JobName.AuditRetention, handle: (job) => this.retention.run(job.data) },
  ]);

  constructor(
    private readonly writer: AuditLogWriter,
    private readonly retention: RetentionService,
    private readonly drift: DriftMonitor,
  ) {
    super();
  }

  async process(job: Job): Promise<JobResult<JobNameOn<QueueName.Audit>>> {
    const payload = job.data as { payloadVersion?: unknown };
    if (payload?.payloadVersion !== 1)
      throw new UnrecoverableError(`${job.name}: unsupported payloadVersion ${String(payload?.payloadVersion)}`);
    if (!this.handlers.handles(job.name)) this.logger.warn({ job: job.name, id: job.id }, 'unknown job name on the audit queue');
    return this.handlers.dispatch(job);
  }
}
