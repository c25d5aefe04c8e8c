import { Module } from '@nestjs/common';
import { portProvider } from '../platform/rpc/port';
import { AuditPort, LocalAudit } from './audit.port';
import { AuditRpcController } from './audit.rpc-controller';
import { DriftController } from './drift/drift.controller';
import { DriftMonitorModule } from './drift/drift-monitor.module';
import { AuditCheckpointsController } from './log/audit-checkpoints.controller';
import { AuditEventsController } from './log/audit-events.controller';
import { AuditLogModule } from './log/audit-log.module';
import { AuditPredictionsController } from './log/audit-predictions.controller';
import { AuditVerifyController } from './log/audit-verify.controller';
import { FeedbackController } from './monitoring/feedback.controller';
import { MonitoringController } from './monitoring/monitoring.controller';
import { MonitoringModule } from './monitoring/monitoring.module';

/**
 * Diagnostics-audit HTTP APIs (prediction log, admin events, verify, feedback, drift, monitoring); roles
 * `gateway` and `audit`. Their use cases go through `AuditPort`: the local services, or the audit app
 * over the transport on a split gateway (config.rpc.targets.audit set).
 */
@Module({
  imports: [AuditLogModule, DriftMonitorModule, MonitoringModule],
  controllers: [
    AuditPredictionsController,
    AuditEventsController,
    AuditVerifyController,
    AuditCheckpointsController,
    FeedbackController,
    MonitoringController,
    DriftController,
  ],
  providers: [LocalAudit, portProvider(AuditPort, 'audit', LocalAudit)],
})
export class AuditModule {}

/** The audit app's message handlers (role `audit`); answered once bootstrap connects the transport. */
@Module({
  imports: [AuditLogModule, DriftMonitorModule, MonitoringModule],
  controllers: [AuditRpcController],
  providers: [LocalAudit, { provide: AuditPort, useExisting: LocalAudit }],
})
export class AuditRpcModule {}
