import { Module } from '@nestjs/common';
import { RetentionScheduler } from './retention.scheduler';

/** What only processes running the `audit` queue worker need from the log: the daily retention schedule. */
@Module({
  providers: [RetentionScheduler],
})
export class AuditLogWorkersModule {}
