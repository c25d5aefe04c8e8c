import { rpcPortController } from '../platform/rpc/port';
import { actor, dto, int, json, nullable, oneOf, optional, shape, text } from '../platform/rpc/port-args';
import { AuditPort } from './audit.port';
import { MAX_HISTORY, OnDriftDto } from './drift/drift.dto';
import { EventsQueryDto, PredictionFilterQuery, PredictionsQueryDto } from './log/audit-log.dto';

const model = text(200);

/** The audit app's answers to `RpcPatterns.audit` (only reached when the app serves RPC: KILN_TRANSPORT set). */
export const AuditRpcController = rpcPortController(AuditPort, 'audit', 'AuditRpcController', {
  verify: { chain: oneOf(['predictions', 'events']), from: optional(text(100)), to: optional(text(100)) },
  listPredictions: { query: dto(PredictionsQueryDto) },
  exportPredictions: { query: dto(PredictionFilterQuery) },
  getPrediction: { requestId: text(10_000) },
  listEvents: { query: dto(EventsQueryDto) },
  // The feedback body (one item or a batch) is parsed and checked field by field by the use case itself.
  submitFeedback: { body: json(), callerKeyId: nullable(text(200)) },
  monitoring: { model, window: shape({ window: optional(text(100)), from: optional(text(100)), to: optional(text(100)) }) },
  driftReports: { model, limit: int(1, MAX_HISTORY) },
  driftCheck: { model, actor: actor() },
  driftSettings: { model },
  putDriftSettings: { model, onDrift: nullable(dto(OnDriftDto)), by: nullable(text(200)), actor: actor() },
  driftCheckOutcome: { jobId: text(200) },
  checkpoints: {},
  createCheckpoints: { actor: actor() },
});
