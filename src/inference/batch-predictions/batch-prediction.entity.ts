/**
 * A batch prediction: the source of truth for one `inference.batch-predict` job (the queue payload
 * carries only its id). Status, resolved model version, progress and the output version live here.
 */
import { Column, Entity, type ValueTransformer } from 'typeorm';
import { CancellableJobColumns, FINAL_JOB_STATUSES, type QueuedJobStatus } from '../../platform/queues/queued-job-row';
import type { PredictionColumns } from './prediction-columns';
import type { RecommendJobOptions } from './recommend-columns';

export type BatchPredictionStatus = QueuedJobStatus;
export const FINAL_BATCH_STATUSES: readonly BatchPredictionStatus[] = FINAL_JOB_STATUSES;

/** `scoring`: chunks through the model; `ingesting`: the output handed to ingestion (no longer cancellable). */
export type BatchPredictionPhase = 'scoring' | 'ingesting';

/** PostgreSQL bigint comes back as a string; row counts stay far below 2^53. */
const bigintNumber: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null) => (v === null || v === undefined ? null : Number(v)),
};

/** id, status, attempts, cancel_requested, error_code, error and the timestamps: CancellableJobColumns. */
@Entity({ name: 'batch_predictions' })
export class BatchPredictionEntity extends CancellableJobColumns {
  @Column({ type: 'varchar', length: 16, nullable: true })
  phase!: BatchPredictionPhase | null;

  @Column({ name: 'model_name', type: 'varchar', length: 128 })
  modelName!: string;

  /** The selector as requested: a version number or an alias (exactly one). */
  @Column({ name: 'requested_version', type: 'integer', nullable: true })
  requestedVersion!: number | null;

  @Column({ name: 'requested_alias', type: 'varchar', length: 64, nullable: true })
  requestedAlias!: string | null;

  /** The version the selector resolved to when the job started; every row is scored by it. */
  @Column({ name: 'model_version', type: 'integer', nullable: true })
  modelVersion!: number | null;

  @Column({ name: 'model_version_id', type: 'uuid', nullable: true })
  modelVersionId!: string | null;

  @Column({ name: 'dataset_version_id', type: 'uuid' })
  datasetVersionId!: string;

  @Column({ name: 'output_dataset_id', type: 'uuid' })
  outputDatasetId!: string;

  /** Chosen (and fixed) just before the output is handed to ingestion: a retry reuses it. */
  @Column({ name: 'output_dataset_version_id', type: 'uuid', nullable: true })
  outputDatasetVersionId!: string | null;

  /** The NDJSON output in the artifact store (the new version's raw source). */
  @Column({ name: 'output_artifact_sha256', type: 'char', length: 64, nullable: true })
  outputArtifactSha256!: string | null;

  @Column({ name: 'prediction_columns', type: 'jsonb', nullable: true })
  predictionColumns!: PredictionColumns | null;

  /** Recommender versions only: the top-K options and the output's id types (migration 1764970000000); null for tabular models. */
  @Column({ type: 'jsonb', nullable: true })
  recommend!: RecommendJobOptions | null;

  /** Rows per model call (tabular); users per model call (recommender). */
  @Column({ name: 'chunk_size', type: 'integer' })
  chunkSize!: number;

  /** Input rows scored (tabular) or users whose list is written (recommender; totalRows is then the user count). */
  @Column({ name: 'rows_processed', type: 'bigint', default: 0, transformer: bigintNumber })
  rowsProcessed!: number;

  @Column({ name: 'total_rows', type: 'bigint', nullable: true, transformer: bigintNumber })
  totalRows!: number | null;

  /** The client's `Idempotency-Key` header, with the SHA-256 of the request it came with. */
  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'request_sha256', type: 'char', length: 64, nullable: true })
  requestSha256!: string | null;

  @Column({ name: 'created_by', type: 'varchar', length: 200, nullable: true })
  createdBy!: string | null;
}
