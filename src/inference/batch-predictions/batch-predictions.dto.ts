/** Request body of `POST /api/batch-predictions` and the job as the API shows it. */
import { IsAliasName, IsVersionNumber } from '../../models';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min, ValidateIf } from 'class-validator';
import { MODEL_NAME_PATTERN } from '../../models';
import { MAX_VERSION_NUMBER } from '../../models';
import { MAX_ROWS_PER_REQUEST } from '../runtime/validate-inputs';
import { JobListQuery } from '../../platform/queues/job-list';
import type { BatchPredictionEntity } from './batch-prediction.entity';

/** `Idempotency-Key` header: 1–255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Rows sent to the model per call (and per cancellation check). */
export const DEFAULT_CHUNK_SIZE = 1_000;
/** The runtime's per-call cap (the record API's request limit). */
export const MAX_CHUNK_SIZE = MAX_ROWS_PER_REQUEST;

export class CreateBatchPredictionDto {
  @ApiProperty({ description: 'Registered model name' })
  @IsString()
  @Matches(MODEL_NAME_PATTERN, { message: 'model must be a model name (letters, digits, . _ -; at most 128)' })
  model!: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_VERSION_NUMBER,
    description: 'Model version number; exclusive with alias. With neither, the `production` alias',
  })
  @IsOptional()
  @IsVersionNumber()
  version?: number;

  @ApiPropertyOptional({ description: 'Model alias (e.g. `production`, `staging`); resolved once when the job starts' })
  @IsOptional()
  @IsAliasName()
  alias?: string;

  @ApiProperty({ format: 'uuid', description: 'A ready dataset version with every feature column of the model' })
  @IsUUID()
  datasetVersionId!: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'Dataset that receives the output version; default: the dataset `<input>-scored-<model>-v<version>` (created when missing), ' +
      'never the input dataset',
  })
  @ValidateIf((o: CreateBatchPredictionDto) => o.outputDatasetId !== undefined)
  @IsUUID(undefined, { message: 'outputDatasetId must be a dataset id (UUID) or omitted' })
  outputDatasetId?: string;

  @ApiPropertyOptional({
    description:
      'Recommender versions only (template `recommender`): write every user of the input version with their top-K list ' +
      '(rows user, rank, item, score, fallback) instead of prediction columns. Default {k: 10, filterSeen: true}; ' +
      'exclude: item ids left out of every list. A tabular model answers 400 on it.',
    example: { k: 10, filterSeen: true, exclude: [] },
  })
  @IsOptional()
  recommend?: unknown;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_CHUNK_SIZE,
    default: DEFAULT_CHUNK_SIZE,
    description: 'Rows per model call (recommenders: users per call)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_CHUNK_SIZE)
  chunkSize?: number;
}

export function batchPredictionDto(b: BatchPredictionEntity) {
  return {
    id: b.id,
    status: b.status,
    phase: b.phase,
    model: b.modelName,
    requested: b.requestedVersion !== null ? { version: b.requestedVersion } : { alias: b.requestedAlias },
    /** The version that scores every row (resolved when the job starts). */
    modelVersion: b.modelVersion,
    datasetVersionId: b.datasetVersionId,
    outputDatasetId: b.outputDatasetId,
    outputDatasetVersionId: b.outputDatasetVersionId,
    predictionColumns: b.predictionColumns,
    chunkSize: b.chunkSize,
    /** Recommenders: the options, and progress counts users (each user's list is `k` output rows). */
    ...(b.recommend ? { recommend: { k: b.recommend.k, filterSeen: b.recommend.filterSeen, exclude: b.recommend.exclude } } : {}),
    progress: b.recommend
      ? { unit: 'users', rowsProcessed: b.rowsProcessed, totalRows: b.totalRows }
      : { rowsProcessed: b.rowsProcessed, totalRows: b.totalRows },
    cancelRequested: b.cancelRequested,
    attempts: b.attempts,
    ...(b.error ? { error: { code: b.errorCode, message: b.error } } : {}),
    createdBy: b.createdBy,
    createdAt: b.createdAt.toISOString(),
    startedAt: b.startedAt?.toISOString() ?? null,
    finishedAt: b.finishedAt?.toISOString() ?? null,
  };
}

/** `GET /api/batch-predictions` filters (`model`: the model scored with; `dataset`: the input) and page. */
export class BatchPredictionListQuery extends JobListQuery {}
