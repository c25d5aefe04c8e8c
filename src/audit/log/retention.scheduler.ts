import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JobName, QueueName, jobId, type AuditRetentionPayload } from '../../contracts';

const DAY_MS = 86_400_000;

/**
 * Keeps one repeatable `audit.retention` job on the `audit` queue: daily (BullMQ aligns `every` to
 * UTC midnight, and runs the first one straight away). An upsert, so every audit replica may
 * declare it on start. The job reads KILN_AUDIT_RETENTION_DAYS when it runs.
 */
@Injectable()
export class RetentionScheduler implements OnApplicationBootstrap {
  constructor(@InjectQueue(QueueName.Audit) private readonly queue: Queue) {}

  async onApplicationBootstrap(): Promise<void> {
    const data: AuditRetentionPayload = { payloadVersion: 1 };
    await this.queue.upsertJobScheduler(jobId(JobName.AuditRetention, 'daily'), { every: DAY_MS }, { name: JobName.AuditRetention, data });
  }
}
