/**
 * Synchronous calls between split apps (gateway → domain service over KILN_TRANSPORT): one message
 * pattern per use case of a domain's port, versioned like the queue payloads (a breaking change is a new
 * `.vN` pattern, served beside the old one until every caller moved).
 *
 * Every call carries `RpcCallPayload`: the port method's arguments in order, each JSON-safe (strings,
 * numbers, booleans, null, plain objects and arrays; a time is an ISO 8601 string). Its result is the
 * port method's result as JSON (a `Date` arrives as its ISO string, exactly what the HTTP answer holds).
 * The argument and result types are the port's method signature (`src/<domain>/*.port.ts`), which both
 * sides compile against; the comment beside each pattern names them for a reader of this file.
 *
 * `kind`: `read` calls are idempotent and sent once more when the first attempt got no answer at all
 * (connection refused, no responder) within the same time budget; `write` calls are never retried.
 */
export interface RpcUseCase {
  pattern: string;
  kind: 'read' | 'write';
}

const read = <P extends string>(pattern: P) => ({ pattern, kind: 'read' }) as const;
const write = <P extends string>(pattern: P) => ({ pattern, kind: 'write' }) as const;

export const RpcPatterns = {
  /** `DatasetsPort` (src/ingestion/datasets.port.ts), answered by the ingestion app. */
  ingestion: {
    /** () → DatasetDto[] */
    listDatasets: read('ingestion.datasets.list.v1'),
    /** (id) → DatasetDto */
    getDataset: read('ingestion.datasets.get.v1'),
    /** (name, description, actor) → DatasetDto */
    createDataset: write('ingestion.datasets.create.v1'),
    /** (acceptance: version fields + artifact reference of the stored upload, actor) → AcceptedVersionDto */
    acceptVersion: write('ingestion.versions.accept.v1'),
    /** (datasetId) → DatasetVersionDto[] (each with its profile) */
    listVersions: read('ingestion.versions.list.v1'),
    /** (datasetId, versionId) → DatasetVersionDto */
    getVersion: read('ingestion.versions.get.v1'),
    /** (datasetId, versionId, offset, limit) → RowsPageDto */
    rows: read('ingestion.versions.rows.v1'),
    /**
     * (datasetId, versionId, format) → TransientFileDto: answered at once, the rows then rendered as
     * `format` into a transient file of the artifact store, which the gateway streams as it is written.
     * v2: v1 answered a content-addressed StoredFileDto only once the whole file was written. A resent
     * call (no answer to the first) starts a second file; the one never fetched is swept after its TTL.
     */
    download: read('ingestion.versions.download.v2'),
  },
  /** `TrainingJobsPort` (src/training/training-jobs.port.ts), answered by the training app. */
  training: {
    /** (body: CreateTrainingJobDto, by, actor) → {id, status} */
    create: write('training.jobs.create.v1'),
    /** (query: TrainingJobListQuery) → {jobs: summary[], nextCursor} */
    list: read('training.jobs.list.v1'),
    /** (id) → the job */
    get: read('training.jobs.get.v1'),
    /** (id) → {job, position?}: the job and, while queued, its place in the queue (the SSE progress stream) */
    progress: read('training.jobs.progress.v1'),
    /** (id) → the held-out test predictions */
    testPredictions: read('training.jobs.test-predictions.v1'),
    /** (id, actor) → the job */
    cancel: write('training.jobs.cancel.v1'),
  },
  /** `ModelsPort` (src/models/models.port.ts), answered by the training app (the registry lives with it). */
  models: {
    /** () → ModelDto[] */
    list: read('models.models.list.v1'),
    /** (name) → ModelDto */
    get: read('models.models.get.v1'),
    /** (name) → ModelVersionDto[] */
    listVersions: read('models.versions.list.v1'),
    /** (name, version selector) → ModelVersionDto */
    getVersion: read('models.versions.get.v1'),
    /** (import: model name, format, artifact references of the stored files…, by, actor) → ModelVersionDto */
    importVersion: write('models.versions.import.v1'),
    /** (name, version, by, actor) → ModelVersionDto */
    archive: write('models.versions.archive.v1'),
    /** (name, alias, version, by, actor) → the alias change */
    setAlias: write('models.aliases.set.v1'),
    /** (name, alias, by, actor) → the alias change */
    deleteAlias: write('models.aliases.delete.v1'),
    /** (name, alias) → alias history entries */
    aliasHistory: read('models.aliases.history.v1'),
    /** (name) → the deployment */
    getDeployment: read('models.deployments.get.v1'),
    /** (name, body, by, actor) → the deployment */
    setDeployment: write('models.deployments.set.v1'),
    /** (name, actor) → the deployment removed */
    deleteDeployment: write('models.deployments.delete.v1'),
    /** (name) → serving settings */
    getServing: read('models.serving.get.v1'),
    /** (name, body, by, actor) → serving settings */
    setServing: write('models.serving.set.v1'),
  },
  /** `AuditPort` (src/audit/audit.port.ts), answered by the audit app. */
  audit: {
    /** (chain, from?, to?) → ChainVerificationReport */
    verify: read('audit.chains.verify.v1'),
    /** (filter, page) → a page of logged predictions */
    listPredictions: read('audit.predictions.list.v1'),
    /**
     * (filter) → TransientFileDto: answered at once (a bad filter is a 400), the matching records then
     * written as NDJSON into a transient file, which the gateway streams as it is written. v2: as download.
     */
    exportPredictions: read('audit.predictions.export.v2'),
    /** (requestId) → one logged prediction */
    getPrediction: read('audit.predictions.get.v1'),
    /** (filter, page) → a page of admin events */
    listEvents: read('audit.events.list.v1'),
    /** (body, keyId) → feedback outcome {created, …} */
    submitFeedback: write('audit.feedback.submit.v1'),
    /** (model, window) → the monitoring document */
    monitoring: read('audit.monitoring.get.v1'),
    /** (model, limit) → drift reports */
    driftReports: read('audit.drift.reports.v1'),
    /** (model, actor) → the drift check's job id */
    driftCheck: write('audit.drift.check.v1'),
    /** (model) → drift settings */
    driftSettings: read('audit.drift.settings.get.v1'),
    /** (model, onDrift, by, actor) → drift settings */
    putDriftSettings: write('audit.drift.settings.set.v1'),
    /** (jobId) → the drift check's outcome with its report once it ended, else null (the gateway polls it for `Prefer: wait`) */
    driftCheckOutcome: read('audit.drift.check-outcome.v1'),
    /** () → {publicKey, latest: {predictions, events}, checkpoints}: the newest signed checkpoints */
    checkpoints: read('audit.checkpoints.list.v1'),
    /** (actor) → {publicKey, checkpoints}: checkpoints signed now (only the audit app holds the signing key) */
    createCheckpoints: write('audit.checkpoints.create.v1'),
  },
  /**
   * `InferenceManagementPort` (src/inference/inference-management.port.ts), answered by an inference app
   * (one replica: with several, each answers for itself).
   */
  inference: {
    /** (ready?) → the model repository index with each version's state in the answering replica */
    repositoryIndex: read('inference.repository.index.v1'),
    /** (name?, version?) → the statistics of the answering replica */
    statistics: read('inference.statistics.v1'),
    /** (name) → {} once loaded in the answering replica */
    load: write('inference.repository.load.v1'),
    /** (name) → {} once unloaded from the answering replica */
    unload: write('inference.repository.unload.v1'),
  },
  /**
   * `BatchPredictionsPort` (src/inference/batch-predictions/batch-predictions.port.ts), answered by an
   * inference app (any replica: the jobs live in the database and on the `batch-inference` queue).
   */
  batch: {
    /** (body: CreateBatchPredictionDto, by, actor, idempotencyKey?) → the job */
    create: write('inference.batch.create.v1'),
    /** (query: BatchPredictionListQuery) → {jobs, nextCursor} */
    list: read('inference.batch.list.v1'),
    /** (id) → the job */
    get: read('inference.batch.get.v1'),
    /** (id, actor) → the job */
    cancel: write('inference.batch.cancel.v1'),
  },
} as const satisfies Record<string, Record<string, RpcUseCase>>;

/**
 * A file a domain service is writing to the shared artifact store for the gateway to stream (downloads,
 * exports; src/platform/artifacts/transient-file.ts): the data never crosses the transport, only this
 * reference. `id` names a transient file (a UUID), never a content-addressed artifact.
 */
export interface TransientFileDto {
  id: string;
  fileName: string;
  contentType: string;
}

/** A domain service reachable over the transport. */
export type RpcService = keyof typeof RpcPatterns;
export const RPC_SERVICES = Object.keys(RpcPatterns) as RpcService[];
/** Any message pattern of a use case. */
export type RpcPattern = { [S in RpcService]: (typeof RpcPatterns)[S][keyof (typeof RpcPatterns)[S]] }[RpcService]['pattern'];

/** The payload of every use-case pattern: the port method's arguments in order. */
export interface RpcCallPayload {
  args: unknown[];
  /** Positions of arguments that were `undefined` (JSON sends them as null). */
  absent?: number[];
}

/**
 * Readiness across the transport: each domain service that answers message patterns also answers its
 * own health pattern (payload `RpcHealthPayload`, result `RpcHealthResult`), so a gateway's
 * `/health/ready` can tell which of the services it calls answer. One entry per such service.
 */
export const RpcHealthPattern = {
  ingestion: 'ingestion.health.v1',
  training: 'training.health.v1',
  models: 'models.health.v1',
  audit: 'audit.health.v1',
  inference: 'inference.health.v1',
  batch: 'batch.health.v1',
} as const satisfies Record<RpcService, string>;
export type RpcHealthPayload = Record<string, never>;
export interface RpcHealthResult {
  /** The domain services the answering process serves over the transport. */
  services: RpcService[];
  /** Host name and pid of the process that answered (one of possibly several replicas). */
  hostname: string;
  pid: number;
}

/**
 * What a failed call answers instead of its result: an HTTP error raised by the domain service, with
 * its status and Nest response body, so the caller rethrows the same error (same status, same problem).
 */
export interface RpcHttpError {
  kind: 'http-error';
  status: number;
  response: string | Record<string, unknown>;
}
