/**
 * Public facade of the diagnostics-audit domain:
 *  - `AuditSinkModule` + `AuditSink`: every process hands prediction records and admin events to the
 *    audit log through it (group commit onto the `audit` queue; see src/contracts/audit.ts);
 *  - `AuditModule` (HTTP APIs) and `AuditWorkersModule` (the `audit` queue worker): composition root only.
 */
export { AuditSink } from './audit-sink';
export { AuditSinkModule } from './audit-sink.module';
export { AuditModule } from './audit.module';
export { AuditWorkersModule } from './audit-workers.module';
