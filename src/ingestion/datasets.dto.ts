import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { DatasetProfile } from '../contracts/dataset-profile';
import type { DatasetLineage } from '../contracts/dataset-lineage';
import type { DatasetEntity } from './dataset.entity';
import { DATASET_VERSION_STATUSES, type DatasetVersionEntity, type DatasetVersionStatus } from './dataset-version.entity';
import { COLUMN_TYPES, type ColumnSchema, type RowError } from './pipeline';

export const DATASET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Largest page of preview rows. */
export const MAX_PREVIEW_ROWS = 1000;

export class CreateDatasetDto {
  @ApiProperty({ example: 'penguins', maxLength: 128, pattern: DATASET_NAME_PATTERN.source, description: 'unique' })
  @IsString()
  @Matches(DATASET_NAME_PATTERN, {
    message: 'name must start with a letter or digit and contain only letters, digits, ".", "_" and "-" (at most 128)',
  })
  name!: string;

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
}

export class VersionSummaryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ enum: DATASET_VERSION_STATUSES }) status!: DatasetVersionStatus;
}

export class DatasetDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ description: 'versions created so far (any status)' }) versionCount!: number;
  @ApiPropertyOptional({ type: VersionSummaryDto, nullable: true, description: 'the newest version, any status' })
  latestVersion!: VersionSummaryDto | null;
  @ApiPropertyOptional({ type: VersionSummaryDto, nullable: true, description: 'the newest ready version' })
  latestReadyVersion!: VersionSummaryDto | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;

  static from(e: DatasetEntity, latest: DatasetVersionEntity | null = null, latestReady: DatasetVersionEntity | null = null): DatasetDto {
    const summary = (v: DatasetVersionEntity | null): VersionSummaryDto | null =>
      v ? { id: v.id, version: v.version, status: v.status } : null;
    return {
      id: e.id,
      name: e.name,
      description: e.description,
      versionCount: e.versionCount,
      latestVersion: summary(latest),
      latestReadyVersion: summary(latestReady),
      createdAt: e.createdAt.toISOString(),
      updatedAt: e.updatedAt.toISOString(),
    };
  }
}

export class SchemaColumnDto {
  @ApiProperty() name!: string;
  @ApiPropertyOptional({ enum: COLUMN_TYPES }) type?: string;
  @ApiPropertyOptional({ description: 'default true; false makes a missing value a row error' }) nullable?: boolean;
  @ApiPropertyOptional({ type: [String], description: 'allowed values (implies categorical)' }) categories?: string[];
}

export class SchemaDto {
  @ApiProperty({ type: [SchemaColumnDto], description: 'overrides inference for the listed columns only' })
  columns!: SchemaColumnDto[];
}

export class ErrorPolicyDto {
  @ApiProperty({ enum: ['reject', 'drop'], description: 'reject: fail the version above maxErrorRate; drop: leave bad rows out' })
  mode!: 'reject' | 'drop';
  @ApiPropertyOptional({ minimum: 0, maximum: 1, default: 0, description: 'with reject: allowed share of bad rows' })
  maxErrorRate?: number;
}

/** The `{records: [...]}` body (JSON), for small data. Validated by hand in the controller (see there). */
export class CreateVersionFromRecordsDto {
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true }, example: [{ species: 'Adelie', mass: 3750 }] })
  records!: Array<Record<string, unknown>>;
  @ApiPropertyOptional({ type: SchemaDto }) schema?: SchemaDto;
  @ApiPropertyOptional({ type: ErrorPolicyDto }) errorPolicy?: ErrorPolicyDto;
  @ApiPropertyOptional({ type: [String], description: 'cell values read as missing; default "", NA, N/A, null, NaN' })
  nullTokens?: string[];
}

/** The multipart form: options first, then the file (fields after the file are refused). */
export class CreateVersionUploadDto {
  // Empty examples: Swagger UI pre-fills a form field with its example (else the word "string"); an empty field counts as absent.
  @ApiPropertyOptional({ description: 'csv | tsv | ndjson | json, optionally +gzip; default: from the file name', example: '' })
  format?: string;
  @ApiPropertyOptional({ description: 'JSON text of {columns: [...]}', example: '' }) schema?: string;
  @ApiPropertyOptional({ description: 'JSON text of {mode, maxErrorRate?}', example: '' }) errorPolicy?: string;
  @ApiPropertyOptional({ description: 'JSON text of an array of strings', example: '' }) nullTokens?: string;
  @ApiProperty({ type: 'string', format: 'binary', description: 'CSV with header, NDJSON or a JSON array of objects; gzip accepted' })
  file!: unknown;
}

export class AcceptedVersionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) datasetId!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ enum: ['pending'] }) status!: 'pending';
  @ApiProperty({ description: 'SHA-256 of the raw upload as stored' }) uploadSha256!: string;
  @ApiProperty() uploadBytes!: number;
  @ApiProperty() createdAt!: string;
}

export class ColumnDto {
  @ApiProperty() name!: string;
  @ApiProperty({ enum: COLUMN_TYPES }) type!: string;
  @ApiProperty() nullable!: boolean;
  @ApiPropertyOptional({ type: [String] }) categories?: string[];
}

export class RowErrorDto {
  @ApiProperty({ description: '1-based data row (the CSV header is not counted)' }) row!: number;
  @ApiPropertyOptional({ nullable: true, type: String }) column!: string | null;
  @ApiProperty() message!: string;
}

export class VersionProgressDto {
  @ApiProperty({ description: 'rows read so far (valid or not)' }) rowsProcessed!: number;
}

export class VersionSourceDto {
  @ApiProperty({ enum: ['upload', 'records', 'queue'] }) kind!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) fileName!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) format!: string | null;
  @ApiProperty() sha256!: string;
  @ApiPropertyOptional({ nullable: true, type: Number }) sizeBytes!: number | null;
}

export class DatasetVersionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) datasetId!: string;
  @ApiProperty({ description: '1, 2, 3… per dataset' }) version!: number;
  @ApiProperty({ enum: DATASET_VERSION_STATUSES }) status!: DatasetVersionStatus;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'rows stored' }) rowCount!: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'data rows read, valid or not' }) totalRows!: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'bad rows left out (errorPolicy drop)' }) droppedRows!: number | null;
  @ApiProperty({ type: [ColumnDto] }) columns!: ColumnSchema[];
  @ApiPropertyOptional({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description:
      'profile.columns[<name>]: numeric {count, missing, distinct, min, max, mean, std, quantiles, histogram, sample} ' +
      'or categorical {count, missing, distinct, top, frequencies, otherCount, sample}',
  })
  profile!: DatasetProfile | null;
  @ApiProperty({ type: [RowErrorDto], description: 'the first 100' }) errors!: RowError[];
  @ApiProperty() errorCount!: number;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'SHA-256 of the stored columnar data' }) contentHash!: string | null;
  @ApiProperty({ type: VersionProgressDto }) progress!: VersionProgressDto;
  @ApiProperty({ type: VersionSourceDto }) source!: VersionSourceDto;
  @ApiPropertyOptional({
    nullable: true,
    type: Object,
    description:
      'The Kiln job that produced the rows: {kind: "batch-scoring", batchPredictionId, model, modelVersion, target, ' +
      'inputDatasetId, inputDatasetVersionId, scoredColumns}; null for uploads',
  })
  lineage!: DatasetLineage | null;
  @ApiProperty({ description: 'processing attempts started (retries after transient failures included)' }) attempts!: number;
  @ApiProperty() createdAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) startedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) finishedAt!: string | null;
  @ApiPropertyOptional({ type: String }) failureReason?: string;
  @ApiPropertyOptional({ type: String, description: 'machine-readable reason, e.g. EMPTY_FILE, ERROR_RATE_EXCEEDED' }) failureCode?: string;
  @ApiPropertyOptional({ type: String, description: 'the input at fault: file, format, schema.columns[0].type…' }) failureField?: string;

  static from(v: DatasetVersionEntity): DatasetVersionDto {
    return {
      id: v.id,
      datasetId: v.datasetId,
      version: v.version,
      status: v.status,
      rowCount: v.rowCount,
      totalRows: v.totalRows,
      droppedRows: v.droppedRows,
      columns: v.columns ?? [],
      profile: v.profile,
      errors: v.errors ?? [],
      errorCount: v.errorCount,
      contentHash: v.contentHash,
      progress: { rowsProcessed: v.rowsProcessed },
      source: { kind: v.sourceKind, fileName: v.fileName, format: v.format, sha256: v.rawSha256, sizeBytes: v.rawSizeBytes },
      lineage: v.lineage ?? null,
      attempts: v.attempts,
      createdAt: v.createdAt.toISOString(),
      startedAt: v.startedAt?.toISOString() ?? null,
      finishedAt: v.finishedAt?.toISOString() ?? null,
      ...(v.failureReason !== null ? { failureReason: v.failureReason } : {}),
      ...(v.failureCode !== null ? { failureCode: v.failureCode } : {}),
      ...(v.failureField !== null ? { failureField: v.failureField } : {}),
    };
  }
}

export class RowsQueryDto {
  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PREVIEW_ROWS, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PREVIEW_ROWS)
  limit?: number;
}

export class RowsPageDto {
  @ApiProperty({ type: [ColumnDto] }) columns!: Array<{ name: string; type: string }>;
  @ApiProperty() offset!: number;
  @ApiProperty() limit!: number;
  @ApiProperty({ description: 'rows in the version' }) total!: number;
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } }) rows!: Array<Record<string, unknown>>;
  @ApiProperty() hasMore!: boolean;
}

export const DOWNLOAD_FORMATS = ['ndjson', 'csv'] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

export class DownloadQueryDto {
  @ApiPropertyOptional({ enum: DOWNLOAD_FORMATS, default: 'ndjson' })
  @IsOptional()
  @IsIn(DOWNLOAD_FORMATS)
  format?: DownloadFormat;
}
