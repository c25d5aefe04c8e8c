/**
 * THE SEAM into the diagnostics-audit domain: what every data-plane call and every mutating
 * management call hands to the audit domain, as AuditRecordBatchPayload batches.
 *
 * Producers (any role, through the audit domain's AuditSink) never write the log tables: they stage
 * batches (group commit: the records of all requests that finished in the same event-loop turn share
 * one row of `audit_staging`, so one INSERT) and answer their caller only once that row is committed.
 * The audit worker chains them idempotently (by `requestId` for predictions, `eventId` for admin
 * events) into hash-chained tables. The `audit.record-batch` job carries the same payload and is
 * still handled (jobs queued by an older version).
 */

/** Which protocol served the call: `oip` over REST, `oip-grpc` over gRPC. `batch` = one record per scored chunk of a batch prediction. */
export type AuditRoute = 'record' | 'recommend' | 'tfserving' | 'oip' | 'oip-grpc' | 'batch';

/** `live` answered the caller; `shadow` is the copy sent to a deployment's shadow version; `batch` a batch-prediction chunk. */
export type AuditKind = 'live' | 'shadow' | 'batch';

export interface AuditPredictionRecord {
  /**
   * Unique per record: the server's request id (unique per call); shadow copies use
   * `<requestId>/shadow`, batch chunks `<batchId>:<chunk>`.
   */
  requestId: string;
  /** The id the client sent (x-request-id, OIP `id`; may repeat across calls, may be ''); null when none. */
  clientRequestId?: string | null;
  /** When the response was produced (ISO 8601). */
  servedAt: string;
  callerKeyId: string | null;
  model: string;
  /** The version that computed the outputs; null when the call failed before a version was chosen. */
  version: number | null;
  route: AuditRoute;
  kind: AuditKind;
  /** Routed by a deployment to a canary route. */
  canary: boolean;
  /** HTTP status of the answer (200, or the error's status). */
  status: number;
  latencyMs: number;
  rows: number;
  /**
   * The inputs as received: record API → the array of records; /v1 and /v2 → `[{name, shape, datatype, data}]`;
   * batch → null. Null too when KILN_AUDIT_PAYLOADS=hash.
   */
  inputs: unknown;
  /**
   * SHA-256 (hex) of the RFC 8785 canonical JSON of `inputs` (JSON-safe form, strings as received).
   * Required when `inputs` is null
   * (KILN_AUDIT_PAYLOADS=hash); when the inputs are sent, null lets the audit writer compute it off
   * the request path. Stored for every record.
   */
  inputsSha256: string | null;
  /** Record API → the predictions array; tensors → `[{name, shape, data}]`; errors → null. */
  outputs: unknown;
  /** Error message when status ≥ 400. */
  error: string | null;
}

export interface AdminEventRecord {
  /** Unique per event (uuid chosen by the producer): the idempotency key. */
  eventId: string;
  at: string;
  requestId: string;
  actorKeyId: string | null;
  /** `<noun>.<past-tense verb>`, e.g. `dataset.created`, `alias.moved`, `key.revoked`, `audit.retention-expired`. */
  action: string;
  /** What was acted on, e.g. `{model: 'fraud', alias: 'production'}`. */
  target: Record<string, unknown>;
  before: unknown;
  after: unknown;
}
