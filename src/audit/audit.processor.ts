import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JobName, QueueName, type JobPayload, type JobResult } from '../contracts';
import { DriftMonitor } from './drift/drift-monitor.service';
import { AuditLogWriter } from './log/audit-log.writer';
import { RetentionService } from './log/retention.service';

type AuditJobName = JobName.AuditRecordBatch | JobName.AuditDriftCheck | JobName.AuditRetention;

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

  constructor(
    private readonly writer: AuditLogWriter,
    private readonly retention: RetentionService,
    private readonly drift: DriftMonitor,
  ) {
    super();
  }

  async process(job: Job): Promise<JobResult<AuditJobName>> {
    const payload = job.data as { payloadVersion?: unknown };
    if (payload?.payloadVersion !== 1) throw new UnrecoverableError(`${job.name}: unsupported payloadVersion ${String(payload?.payloadVersion)}`);
    switch (job.name) {
      case JobName.AuditRecordBatch:
        return this.writer.writeBatch(job.data as JobPayload<JobName.AuditRecordBatch>);
      case JobName.AuditDriftCheck:
        return this.drift.check(job.data as JobPayload<JobName.AuditDriftCheck>);
      case JobName.AuditRetention:
        return this.retention.run(job.data as JobPayload<JobName.AuditRetention>);
      default:
        this.logger.warn({ job: job.name, id: job.id }, 'unknown job name on the audit queue');
        throw new UnrecoverableError(`unknown job name ${job.name} on queue ${QueueName.Audit}`);
    }
  }
}
