import { Module } from '@nestjs/common';
import { AuditLogModule } from './audit-log.module';
import { CheckpointScheduler } from './checkpoint.scheduler';
import { RetentionScheduler } from './retention.scheduler';

/** What only processes running the `audit` queue worker need from the log: the retention and checkpoint schedules. */
@Module({
  imports: [AuditLogModule],
  providers: [RetentionScheduler, CheckpointScheduler],
})
export class AuditLogWorkersModule {}
