import { Module } from '@nestjs/common';
import { DriftMonitorModule } from './drift/drift-monitor.module';
import { AuditLogModule } from './log/audit-log.module';
import { MonitoringModule } from './monitoring/monitoring.module';

/** Diagnostics-audit HTTP APIs (prediction log, admin events, verify, feedback, drift, monitoring). */
@Module({
  imports: [AuditLogModule, DriftMonitorModule, MonitoringModule],
})
export class AuditModule {}
