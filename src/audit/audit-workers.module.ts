import { Module } from '@nestjs/common';
import { AuditProcessor } from './audit.processor';
import { DriftMonitorModule } from './drift/drift-monitor.module';
import { DriftSchedulerModule } from './drift/drift-scheduler.module';
import { AuditLogModule } from './log/audit-log.module';
import { AuditLogWorkersModule } from './log/audit-log-workers.module';

/** The `audit` queue worker (log writes, drift checks, retention): only in processes with the `audit` role. */
@Module({
  imports: [AuditLogModule, AuditLogWorkersModule, DriftMonitorModule, DriftSchedulerModule],
  providers: [AuditProcessor],
})
export class AuditWorkersModule {}
