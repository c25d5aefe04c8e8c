/**
 * THE SEAM between domains: queue names, job names and their payloads.
 *
 * NEVER RENAME a queue or a job name: they are stored in the queue backend (Redis keys, PostgreSQL
 * rows) and in jobs already enqueued by other processes or by batch systems outside Kiln.
 * Add new names instead, and bump `payloadVersion` when a payload changes shape.
 * Job names follow `<domain>.<verb>-<noun>`.
 */
import type { DatasetLineage } from './dataset-lineage';
import type { AdminEventRecord, AuditPredictionRecord } from './audit';
export enum QueueName {
  Platform = 'platform',
  Ingestion = 'ingestion',
  Training = 'training',
  /**
   * Batch predictions (`/api/batch-predictions`). The member was `BatchInference`; its stored string
   * stays 'batch-inference' (see above: queued jobs and outside producers address the queue by it).
   */
  BatchPredictions = 'batch-inference',
  Audit = 'audit',
}

export enum JobName {
  /** Diagnostic round trip through the queue backend (health checks, tests). */
  PlatformPing = 'platform.ping',
  /** Parse, validate, profile and store one dataset version (see IngestionProcessVersionPayload). */
  IngestionProcessVersion = 'ingestion.process-version',
  /** Train one queued training job and register its model version (see TrainingRunJobPayload). */
  TrainingRunJob = 'training.run-job',
  /**
   * Run one batch prediction: score one dataset version with one model version into a new dataset version (see
   * InferenceRunBatchPredictionPayload). The member was `InferenceBatchPredict`; the stored name stays
   * 'inference.batch-predict' (frozen, see above), and so does the job id prefix derived from it.
   */
  InferenceRunBatchPrediction = 'inference.batch-predict',
  /** Prediction records and admin events to write into the audit log (see AuditRecordBatchPayload). */
  AuditRecordBatch = 'audit.record-batch',
  /** Compare one served model's recent inputs and predictions with its training data (see AuditDriftCheckPayload). */
  AuditDriftCheck = 'audit.drift-check',
  /** Drop expired audit partitions (KILN_AUDIT_RETENTION_DAYS); itself an audit event. */
  AuditRetention = 'audit.retention',
}

/** Every payload carries the version of its shape so a consumer can reject what it does not know. */
export interface VersionedPayload<V extends number = 1> {
  payloadVersion: V;
}

export interface PlatformPingPayload extends VersionedPayload<1> {
  /** Echoed back in the result. */
  message: string;
  /** The worker waits this long before answering (bounded), to exercise in-flight jobs. */
  delayMs?: number;
}

export interface PlatformPingResult {
  message: string;
  /** Hostname and pid of the worker that answered. */
  answeredBy: string;
  answeredAt: string;
}

/**
 * Job `ingestion.process-version` on queue `ingestion`: turn one raw upload (CSV, TSV, NDJSON or a
 * JSON array of objects, optionally gzip) into an immutable, validated, profiled dataset version.
 *
 * Kiln enqueues it itself after `POST /api/datasets/{id}/versions`. Batch systems may also enqueue it
 * straight onto the queue for a file already in the artifact store:
 *
 *   queue: `ingestion` (with the deployment's KILN_QUEUE_PREFIX), job name: `ingestion.process-version`
 *   job id: `ingestion.process-version__<datasetVersionId>` (REQUIRED: `jobId(JobName.IngestionProcessVersion, id)`)
 *   payload: {
 *     "payloadVersion": 1,
 *     "datasetVersionId": "<uuid chosen by the caller; the idempotency key>",
 *     "datasetId": "<uuid of an existing dataset>",           // required when the version row does not exist yet
 *     "artifactSha256": "<64 hex: the raw file in the artifact store>",  // idem
 *     "fileName": "sales-2025-06.csv.gz",                      // optional; tells the format and gzip
 *     "format": "csv",                                         // optional: csv|tsv|ndjson|json, optionally +gzip; wins over fileName
 *     "schema": {"columns": [{"name": "amount", "type": "number", "nullable": false}]},  // optional
 *     "errorPolicy": {"mode": "reject", "maxErrorRate": 0.01}, // optional; or {"mode": "drop"}; default reject at 0
 *     "nullTokens": ["", "NA", "N/A", "null", "NaN"]          // optional
 *   }
 *
 * Semantics:
 *  - If no version row has `datasetVersionId`, the worker creates it (next version number of the
 *    dataset, status `processing`); if one exists, its stored source and options are used and the
 *    payload's `datasetId`/`artifactSha256` must match it.
 *  - Idempotent: the same job id is enqueued at most once by BullMQ; a version already `ready` or
 *    `failed` is final and a replay only returns its result. A retry after a crash redoes the work
 *    from the raw artifact; the version becomes `ready` in one statement only once the columnar
 *    (Arrow IPC) data is durable, so it is never half-visible.
 *  - Bad input (unknown dataset, missing artifact, unreadable file, rejected rows, bad schema) fails
 *    the job at once without retries (UnrecoverableError) and marks the version `failed` with
 *    `failureReason`; transient errors retry with exponential backoff (5 attempts), after the last
 *    one the version is marked `failed`.
 *  - Progress: `job.progress` is `{rowsProcessed}`; the version's `progress.rowsProcessed` too.
 *  - Result: `{datasetVersionId, datasetId, version, status, rowCount, contentHash, failureReason?}`.
 */
export interface IngestionProcessVersionPayload extends VersionedPayload<1> {
  datasetVersionId: string;
  datasetId?: string;
  artifactSha256?: string;
  fileName?: string;
  format?: string;
  /** `{columns: [...]}` or the columns array: `{name, type?, nullable?, categories?}`. */
  schema?: unknown;
  errorPolicy?: { mode: 'reject'; maxErrorRate?: number } | { mode: 'drop' };
  nullTokens?: string[];
  /** Stored on a version this job creates: the Kiln job that produced the rows (batch scoring). */
  lineage?: DatasetLineage;
}

export interface IngestionProcessVersionResult {
  datasetVersionId: string;
  datasetId: string;
  version: number;
  status: 'ready' | 'failed';
  rowCount: number | null;
  contentHash: string | null;
  failureReason?: string;
}

/**
 * Job `training.run-job` on queue `training`: run one training job created by
 * `POST /api/training-jobs` (the spec lives on the `training_jobs` row; the payload carries only its id).
 *
 *   job id: `training.run-job__<trainingJobId>` (REQUIRED: `jobId(JobName.TrainingRunJob, id)`)
 *   payload: {"payloadVersion": 1, "trainingJobId": "<uuid of an existing training job>"}
 *
 * Semantics: checkpoints every epoch to the artifact store; a retry resumes from the last checkpoint;
 * a job already succeeded/failed/cancelled is final and a replay only returns its result; the model
 * version is registered in the same transaction that marks the job succeeded (at most one per job).
 * A bad spec or a missing dataset fails at once (UnrecoverableError); cancellation stops at the next batch.
 */
export interface TrainingRunJobPayload extends VersionedPayload<1> {
  trainingJobId: string;
}

export interface TrainingRunJobResult {
  trainingJobId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  modelVersion?: { model: string; version: number };
  error?: string;
}

/**
 * Job `inference.batch-predict` on queue `batch-inference`: run one batch prediction created by
 * `POST /api/batch-predictions` (the request lives on the `batch_predictions` row; the payload carries only its id).
 *
 *   job id: `inference.batch-predict__<batchPredictionId>` (REQUIRED: `jobId(JobName.InferenceRunBatchPrediction, id)`)
 *   payload: {"payloadVersion": 1, "batchPredictionId": "<uuid of an existing batch prediction>"}
 *
 * Semantics:
 *  - The model selector (version or alias) is resolved once when the job starts; the whole job uses
 *    that version (recorded on the row as `modelVersion`) even if the alias moves meanwhile.
 *  - The input version is scored in chunks through the record API's path (the model's feature
 *    columns only; nulls kept). The output rows (every input column + `prediction`,
 *    `probability_<class>` per class, `score` for binary) are written as NDJSON to the artifact store
 *    and ingested as a NEW version of the output dataset by enqueueing `ingestion.process-version`
 *    with an explicit schema; the job succeeds once that version is `ready` (`outputDatasetVersionId`).
 *  - Idempotent: a job already succeeded/failed/cancelled is final and a replay only returns its
 *    result; the output version id is fixed on the row before ingestion is enqueued, so a retry
 *    after a crash waits for that same version and never writes a second one.
 *  - Bad input (unknown model, version or alias, archived version, a model without named features,
 *    a dataset lacking a feature column) fails at once (UnrecoverableError) with the reason on the
 *    row; transient errors retry with exponential backoff.
 *  - Cancellation (`POST /api/batch-predictions/{id}/cancel`) is honoured between chunks, up to the
 *    moment the output is handed to ingestion; nothing is written for a cancelled job.
 *  - Progress: `job.progress` and the row carry `{phase, rowsProcessed, totalRows}`.
 */
export interface InferenceRunBatchPredictionPayload extends VersionedPayload<1> {
  batchPredictionId: string;
}

export interface InferenceRunBatchPredictionResult {
  batchPredictionId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  /** The version that scored every row. */
  modelVersion?: { model: string; version: number };
  outputDatasetId?: string;
  outputDatasetVersionId?: string;
  rowCount?: number;
  error?: string;
}

/**
 * Job `audit.record-batch` on queue `audit`: a group commit of prediction records and admin events
 * (shapes in ./audit.ts). Producers now stage batches in `audit_staging` instead (./audit.ts); the
 * worker still writes such jobs (queued by an older version, or enqueued by hand).
 *
 *   job id: `audit.record-batch__<uuid of the batch>` (the producer's; the batch is enqueued once)
 *   payload: {"payloadVersion": 1, "predictions": [AuditPredictionRecord…], "events": [AdminEventRecord…]}
 *
 * Semantics: the worker appends every record not already stored to its hash chain (predictions by
 * `requestId`, events by `eventId`), so a retried or replayed job never duplicates a record. Records
 * are immutable once written. Result: how many were new and how many were already stored.
 */
export interface AuditRecordBatchPayload extends VersionedPayload<1> {
  predictions: AuditPredictionRecord[];
  events: AdminEventRecord[];
}

export interface AuditRecordBatchResult {
  predictionsWritten: number;
  eventsWritten: number;
  duplicates: number;
}

/**
 * Job `audit.drift-check` on queue `audit` (a repeatable job per served model, id
 * `audit.drift-check__<model>`): compares the model's recent logged inputs and predictions with the
 * profile of the dataset version it was trained on and stores a drift report.
 */
export interface AuditDriftCheckPayload extends VersionedPayload<1> {
  model: string;
}

export interface AuditDriftCheckResult {
  model: string;
  reportId: string | null;
  drift: boolean | null;
  /** Why the check was skipped (e.g. too few logged rows); its report has status `skipped` and this reason. */
  skipped?: string;
}

/** Job `audit.retention` on queue `audit` (repeatable, daily): drops partitions older than KILN_AUDIT_RETENTION_DAYS. */
export interface AuditRetentionPayload extends VersionedPayload<1> {
  retentionDays?: number;
}

export interface AuditRetentionResult {
  droppedPartitions: string[];
}

/** Payload and result type for every job name: producers and processors cannot disagree. */
export interface JobContracts {
  [JobName.PlatformPing]: { queue: QueueName.Platform; payload: PlatformPingPayload; result: PlatformPingResult };
  [JobName.IngestionProcessVersion]: {
    queue: QueueName.Ingestion;
    payload: IngestionProcessVersionPayload;
    result: IngestionProcessVersionResult;
  };
  [JobName.TrainingRunJob]: { queue: QueueName.Training; payload: TrainingRunJobPayload; result: TrainingRunJobResult };
  [JobName.InferenceRunBatchPrediction]: {
    queue: QueueName.BatchPredictions;
    payload: InferenceRunBatchPredictionPayload;
    result: InferenceRunBatchPredictionResult;
  };
  [JobName.AuditRecordBatch]: { queue: QueueName.Audit; payload: AuditRecordBatchPayload; result: AuditRecordBatchResult };
  [JobName.AuditDriftCheck]: { queue: QueueName.Audit; payload: AuditDriftCheckPayload; result: AuditDriftCheckResult };
  [JobName.AuditRetention]: { queue: QueueName.Audit; payload: AuditRetentionPayload; result: AuditRetentionResult };
}

export type JobPayload<N extends JobName> = JobContracts[N]['payload'];
export type JobResult<N extends JobName> = JobContracts[N]['result'];

/** Which queue each job is sent on. */
export const JOB_QUEUE: { [N in JobName]: JobContracts[N]['queue'] } = {
  [JobName.PlatformPing]: QueueName.Platform,
  [JobName.IngestionProcessVersion]: QueueName.Ingestion,
  [JobName.TrainingRunJob]: QueueName.Training,
  [JobName.InferenceRunBatchPrediction]: QueueName.BatchPredictions,
  [JobName.AuditRecordBatch]: QueueName.Audit,
  [JobName.AuditDriftCheck]: QueueName.Audit,
  [JobName.AuditRetention]: QueueName.Audit,
};

/** Deterministic job id from the business key, so a retry or a double submit never does the work twice. */
export function jobId(name: JobName, businessKey: string): string {
  // BullMQ rejects custom ids containing ':' (its Redis key separator), hence '__'.
  return `${name}__${businessKey}`;
}
