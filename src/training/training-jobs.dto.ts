import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

import { ALL_PROMOTE_METRICS, MODEL_NAME_PATTERN, PROMOTE_MODES } from '../models';
import { JOB_STATUSES, JobListQuery } from '../platform/queues/job-list';

export const TASKS = ['binary', 'multiclass', 'regression'] as const;
export const TEMPLATE_NAMES = ['mlp', 'linear', 'recommender'] as const;

export class HyperparametersDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 10_000, default: 50, example: 20 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  epochs?: number;
  @ApiPropertyOptional({ minimum: 1, maximum: 65_536, default: 32 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65_536)
  batchSize?: number;
  @ApiPropertyOptional({ minimum: 1e-7, maximum: 10, description: 'Default: 0.001 (mlp), 0.01 (linear)' })
  @IsOptional()
  @IsNumber()
  @Min(1e-7)
  @Max(10)
  learningRate?: number;
  @ApiPropertyOptional({ type: [Number], maxItems: 8, description: 'Units of each hidden layer (mlp), 1–4096 each' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(8)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(4096, { each: true })
  hiddenUnits?: number[];
  @ApiPropertyOptional({ minimum: 0, maximum: 0.95 }) @IsOptional() @IsNumber() @Min(0) @Max(0.95) dropout?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 10, description: 'L2 weight penalty' })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(10)
  l2?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 10_000, description: 'Epochs without validation improvement before stopping; 0 = never' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10_000)
  earlyStoppingPatience?: number;
  /** 'balanced' or {class label: weight}; checked in detail by the trainer. */
  @ApiPropertyOptional({
    oneOf: [
      { type: 'string', enum: ['balanced'] },
      { type: 'object', additionalProperties: { type: 'number' } },
    ],
    description: "'balanced' or {class label: weight} (classification only)",
  })
  @IsOptional()
  classWeights?: 'balanced' | Record<string, number>;
  @ApiPropertyOptional({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Seed of initialisation, shuffling and split' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  seed?: number;
  // recommender template (src/ml/recommender/recommender-spec.ts checks them in detail)
  @ApiPropertyOptional({ minimum: 1, maximum: 512, description: 'recommender only' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(512)
  embeddingSize?: number;
  @ApiPropertyOptional({ minimum: 1, maximum: 100, description: 'recommender only: negatives per positive (implicit feedback)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  negatives?: number;
  @ApiPropertyOptional({ enum: ['bpr', 'binary'], description: 'recommender only (implicit feedback)' })
  @IsOptional()
  @IsIn(['bpr', 'binary'])
  loss?: 'bpr' | 'binary';
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, description: 'recommender only: K of the top-K metrics' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  k?: number;
}

/** The interaction columns of a `recommender` job. */
export class InteractionColumnsDto {
  @ApiProperty({ description: 'User id column (integer, string or categorical)' })
  @IsString()
  @MaxLength(200)
  user!: string;

  @ApiProperty({ description: 'Item id column (integer, string or categorical)' })
  @IsString()
  @MaxLength(200)
  item!: string;

  @ApiPropertyOptional({
    description: 'Explicit feedback: numeric rating column (squared-error training, RMSE). Absent: implicit feedback',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  rating?: string;

  @ApiPropertyOptional({ description: "With a timestamp, each user's newest interactions are held out; else a seeded per-user holdout" })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  timestamp?: string;
}

export class SplitDto {
  @ApiPropertyOptional({ minimum: 0.01, maximum: 0.5, default: 0.15, description: 'Share of rows for validation' })
  @IsOptional()
  @IsNumber()
  @Min(0.01)
  @Max(0.5)
  validation?: number;
  @ApiPropertyOptional({ minimum: 0.01, maximum: 0.5, default: 0.15, description: 'Share of rows held out for the test metrics' })
  @IsOptional()
  @IsNumber()
  @Min(0.01)
  @Max(0.5)
  test?: number;
  @ApiPropertyOptional({ description: 'Stratify by class (classification; default true)' }) @IsOptional() @IsBoolean() stratify?: boolean;
}

export class CreateTrainingJobDto {
  @ApiProperty({
    format: 'uuid',
    description: 'A ready dataset version: the `id` answered by the upload (POST /api/datasets/{id}/versions)',
  })
  @IsUUID()
  datasetVersionId!: string;

  @ApiPropertyOptional({ description: 'Target column (every template except recommender, which takes `columns`)', example: 'Species' })
  @ValidateIf((o: CreateTrainingJobDto) => o.template !== 'recommender' || o.target !== undefined)
  @IsString()
  @MaxLength(200)
  target!: string;

  @ApiPropertyOptional({ type: InteractionColumnsDto, description: 'recommender template only: {user, item, rating?, timestamp?}' })
  @ValidateIf((o: CreateTrainingJobDto) => o.template === 'recommender' || o.columns !== undefined)
  @IsObject({ message: 'columns must be an object {user, item, rating?, timestamp?}' })
  @ValidateNested()
  @Type(() => InteractionColumnsDto)
  columns?: InteractionColumnsDto;

  @ApiPropertyOptional({ enum: TASKS, description: 'Inferred from the target when omitted' })
  @IsOptional()
  @IsIn(TASKS)
  task?: (typeof TASKS)[number];

  @ApiPropertyOptional({ description: 'Binary only; default the minority class' })
  @IsOptional()
  @IsString({ message: "positiveClass must be a string: one of the target's class labels ('true'/'false' for booleans)" })
  positiveClass?: string;

  @ApiPropertyOptional({ type: [String], description: 'Default: every other column' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(2000)
  @IsString({ each: true })
  features?: string[];

  @ApiPropertyOptional({ enum: TEMPLATE_NAMES, default: 'mlp' })
  @IsOptional()
  @IsIn(TEMPLATE_NAMES)
  template?: (typeof TEMPLATE_NAMES)[number];

  @ApiPropertyOptional({ type: HyperparametersDto })
  @IsOptional()
  @IsObject({ message: 'hyperparameters must be an object ({epochs, batchSize, …})' })
  @ValidateNested()
  @Type(() => HyperparametersDto)
  hyperparameters?: HyperparametersDto;

  @ApiPropertyOptional({ type: SplitDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => SplitDto)
  split?: SplitDto;

  @ApiProperty({ description: 'Registry name of the model the trained version is registered under', example: 'penguins' })
  @IsString()
  @Matches(MODEL_NAME_PATTERN, { message: "modelName must be 1–128 letters, digits, '.', '_' or '-' starting with a letter or digit" })
  modelName!: string;

  @ApiPropertyOptional({
    enum: PROMOTE_MODES,
    default: 'never',
    description:
      "On success: 'always' moves the production alias to the new version; " +
      "'if-better' scores the current production version on this job's test split and moves the alias only if promoteMetric improves " +
      '(the comparison is stored on the job as `promotion`)',
  })
  @IsOptional()
  @IsIn(PROMOTE_MODES)
  promote?: (typeof PROMOTE_MODES)[number];

  @ApiPropertyOptional({
    enum: ALL_PROMOTE_METRICS,
    description: 'Default: rocAuc (binary), macroF1 (multiclass), rmse (regression); lower is better for rmse, mae, logLoss',
  })
  @IsOptional()
  @IsIn(ALL_PROMOTE_METRICS)
  promoteMetric?: string;
}

/** `GET /api/training-jobs` filters and page (400 naming the parameter when one is malformed). */
export class TrainingJobListQuery extends JobListQuery {}

// ---- responses (documentation of what the service answers; the service builds plain objects)

const OBJECT = { type: 'object', additionalProperties: true } as const;

export class QueuedTrainingJobDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: JOB_STATUSES, example: 'queued' }) status!: string;
}

export class EpochProgressDto {
  @ApiProperty({ description: '1-based' }) epoch!: number;
  @ApiProperty() epochs!: number;
  @ApiProperty() loss!: number;
  @ApiPropertyOptional() valLoss?: number;
  @ApiPropertyOptional() valMetric?: number;
  @ApiPropertyOptional({ example: 'accuracy' }) valMetricName?: string;
}

export class ModelVersionRefDto {
  @ApiProperty() model!: string;
  @ApiProperty() version!: number;
}

export class JobErrorDto {
  @ApiPropertyOptional({ nullable: true, type: String }) code!: string | null;
  @ApiProperty() message!: string;
}

export class TrainingJobSummaryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: JOB_STATUSES }) status!: string;
  @ApiProperty({ format: 'uuid' }) datasetVersionId!: string;
  @ApiProperty() modelName!: string;
  @ApiProperty({ ...OBJECT, description: 'The request as sent (see `resolved` on the job for the defaults it runs with)' })
  spec!: Record<string, unknown>;
  @ApiPropertyOptional({ type: EpochProgressDto, nullable: true, description: 'The last finished epoch' })
  progress!: EpochProgressDto | null;
  @ApiPropertyOptional({ ...OBJECT, nullable: true, description: '{validation, test}: accuracy, macroF1, rocAuc, rmse, … per task' })
  metrics!: Record<string, unknown> | null;
  @ApiPropertyOptional({ ...OBJECT, nullable: true, description: "promote 'if-better': the comparison with production" })
  promotion!: Record<string, unknown> | null;
  @ApiPropertyOptional({ type: ModelVersionRefDto, nullable: true, description: 'The registered version once succeeded' })
  modelVersion!: ModelVersionRefDto | null;
  @ApiProperty() cancelRequested!: boolean;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'Last epoch with a durable checkpoint' }) checkpointEpoch!:
    number | null;
  @ApiPropertyOptional({ nullable: true, type: String }) testPredictionsSha256!: string | null;
  @ApiProperty() attempts!: number;
  @ApiPropertyOptional({ type: JobErrorDto, description: 'Present when failed' }) error?: JobErrorDto;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Name of the API key that queued it' }) createdBy!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) startedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) finishedAt!: string | null;
}

export class EarlyStoppingDto {
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'Epochs without improvement before stopping; 0 = off' })
  patience!: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'The epoch whose weights the model keeps' }) bestEpoch!: number | null;
  @ApiProperty() epochsCompleted!: number;
  @ApiProperty() stoppedEarly!: boolean;
}

export class TrainingJobDto extends TrainingJobSummaryDto {
  @ApiProperty({ type: [EpochProgressDto] }) history!: EpochProgressDto[];
  @ApiProperty({ ...OBJECT, description: 'The request with every default filled in (task, features, hyperparameters, split, promote…)' })
  resolved!: Record<string, unknown>;
  @ApiProperty({ type: EarlyStoppingDto }) earlyStopping!: EarlyStoppingDto;
}

export class TestPredictionsDto {
  @ApiProperty({ type: [Number], description: 'Row indices into the dataset version' }) rowIndices!: number[];
  @ApiProperty({ type: 'array', items: {}, description: 'True targets (labels or numbers)' }) yTrue!: unknown[];
  @ApiProperty({ type: 'array', items: {}, description: 'Predicted targets' }) yPred!: unknown[];
  @ApiPropertyOptional({ type: 'array', items: { type: 'array', items: { type: 'number' } }, description: 'Class probabilities per row' })
  probabilities?: number[][];
}
