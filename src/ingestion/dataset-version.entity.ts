import { Column, Entity, type ValueTransformer } from 'typeorm';
import { JobRowColumns, type JobRowStates } from '../platform/queues/queued-job-row';
import type { DatasetLineage } from '../contracts/dataset-lineage';
import type { DatasetProfile } from '../contracts/dataset-profile';
import type { ColumnSchema, ErrorPolicy, RowError } from './pipeline';

export type DatasetVersionStatus = 'pending' | 'processing' | 'ready' | 'failed';
export const DATASET_VERSION_STATUSES: readonly DatasetVersionStatus[] = ['pending', 'processing', 'ready', 'failed'];
/** A version's statuses as a queued job row: waiting `pending`, active `processing`, final `ready` or `failed`. */
export const DATASET_VERSION_JOB_STATES: JobRowStates<DatasetVersionStatus> = {
  waiting: 'pending',
  active: 'processing',
  failed: 'failed',
};

/** Where the raw data came from: a multipart upload, a `{records}` body, or a job enqueued by a batch system. */
export type DatasetVersionSourceKind = 'upload' | 'records' | 'queue';

/** Ingestion options fixed when the version is created (re-used as is by every retry). */
export interface DatasetVersionOptions {
  schema?: object;
  errorPolicy?: ErrorPolicy;
  nullTokens?: string[];
}

/** PostgreSQL bigint comes back as a string; counts here stay far below 2^53. */
const bigintNumber: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null) => (v === null || v === undefined ? null : Number(v)),
};

/** id, status, attempts and the timestamps: JobRowColumns (the failure has columns of its own: failure_*). */
@Entity({ name: 'dataset_versions' })
export class DatasetVersionEntity extends JobRowColumns<DatasetVersionStatus> {
  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'source_kind', type: 'varchar', length: 16 })
  sourceKind!: DatasetVersionSourceKind;

  @Column({ name: 'file_name', type: 'varchar', length: 500, nullable: true })
  fileName!: string | null;

  /** The explicit format given by the caller (null: from the file name). */
  @Column({ type: 'varchar', length: 32, nullable: true })
  format!: string | null;

  /** SHA-256 of the raw upload in the artifact store. */
  @Column({ name: 'raw_sha256', type: 'char', length: 64 })
  rawSha256!: string;

  @Column({ name: 'raw_size_bytes', type: 'bigint', nullable: true, transformer: bigintNumber })
  rawSizeBytes!: number | null;

  @Column({ type: 'jsonb', default: {} })
  options!: DatasetVersionOptions;

  @Column({ name: 'rows_processed', type: 'bigint', default: 0, transformer: bigintNumber })
  rowsProcessed!: number;

  @Column({ name: 'row_count', type: 'bigint', nullable: true, transformer: bigintNumber })
  rowCount!: number | null;

  @Column({ name: 'total_rows', type: 'bigint', nullable: true, transformer: bigintNumber })
  totalRows!: number | null;

  @Column({ name: 'dropped_rows', type: 'bigint', nullable: true, transformer: bigintNumber })
  droppedRows!: number | null;

  @Column({ type: 'jsonb', nullable: true })
  columns!: ColumnSchema[] | null;

  @Column({ type: 'jsonb', nullable: true })
  profile!: DatasetProfile | null;

  /** The first 100 row errors. */
  @Column({ type: 'jsonb', default: [] })
  errors!: RowError[];

  /** The Kiln job that produced the rows (batch scoring); null for uploads. */
  @Column({ type: 'jsonb', nullable: true })
  lineage!: DatasetLineage | null;

  @Column({ name: 'error_count', type: 'bigint', default: 0, transformer: bigintNumber })
  errorCount!: number;

  /** SHA-256 of the stored Arrow IPC data: identical data, identical hash. Also its artifact id. */
  @Column({ name: 'content_hash', type: 'char', length: 64, nullable: true })
  contentHash!: string | null;

  @Column({ name: 'data_size_bytes', type: 'bigint', nullable: true, transformer: bigintNumber })
  dataSizeBytes!: number | null;

  @Column({ name: 'failure_code', type: 'varchar', length: 64, nullable: true })
  failureCode!: string | null;

  @Column({ name: 'failure_field', type: 'varchar', length: 200, nullable: true })
  failureField!: string | null;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason!: string | null;
}
