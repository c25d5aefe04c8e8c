import { Module } from '@nestjs/common';
import { DriftMonitorModule } from './drift-monitor/drift-monitor.module';
import { AuditLogModule } from './log/audit-log.module';
import { QualityModule } from './quality/quality.module';

/** Diagnostics-audit HTTP APIs (prediction log, admin events, verify, feedback, drift, monitoring). */
@Module({
  imports: [AuditLogModule, DriftMonitorModule, QualityModule],
})
export class AuditModule {}
