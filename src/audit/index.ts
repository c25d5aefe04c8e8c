/**
 * Public facade of the diagnostics-audit domain:
 *  - `AuditSinkModule` + `AuditSink`: every process hands prediction records and admin events to the
 *    audit log through it (group commit onto the `audit` queue; see src/contracts/audit.ts);
 *  - `AuditModule` (HTTP APIs) and `AuditWorkersModule` (the `audit` queue worker): composition root only.
 * Inside: `log/` the hash-chained prediction log and admin events (writer, verify, queries, retention);
 * `monitoring/` what served models do in production: feedback (ground truth), live quality metrics, the
 * monitoring document and page; `drift/` the drift monitor (Nest module, controller, scheduler, alerts,
 * retrain trigger) with `drift/statistics/` its framework-free statistics (KS, chi-square, distances,
 * histograms); `chain/` the hash chain itself.
 */
export { AuditSink } from './audit-sink';
export { AuditSinkModule } from './audit-sink.module';
export { AuditModule, AuditRpcModule } from './audit.module';
export { AuditWorkersModule } from './audit-workers.module';
