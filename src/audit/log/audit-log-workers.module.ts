import { Module } from '@nestjs/common';
import { AuditChainer } from './audit-chainer.service';
import { AuditLogModule } from './audit-log.module';
import { CheckpointScheduler } from './checkpoint.scheduler';
import { RetentionScheduler } from './retention.scheduler';

/**
 * What only processes running the `audit` queue worker need from the log: the chainer of staged
 * records, the retention and checkpoint schedules.
 */
@Module({
  imports: [AuditLogModule],
  providers: [AuditChainer, RetentionScheduler, CheckpointScheduler],
  exports: [AuditChainer],
})
export class AuditLogWorkersModule {}
