import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
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

export const TASKS = ['binary', 'multiclass', 'regression'] as const;
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const MAX_JOB_PAGE = 1000;
export const TEMPLATE_NAMES = ['mlp', 'linear', 'recommender'] as const;

export class HyperparametersDto {
  @IsOptional() @IsInt() @Min(1) @Max(10_000) epochs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(65_536) batchSize?: number;
  @IsOptional() @IsNumber() @Min(1e-7) @Max(10) learningRate?: number;
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(8)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(4096, { each: true })
  hiddenUnits?: number[];
  @IsOptional() @IsNumber() @Min(0) @Max(0.95) dropout?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(10) l2?: number;
  @IsOptional() @IsInt() @Min(0) @Max(10_000) earlyStoppingPatience?: number;
  /** 'balanced' or {class label: weight}; checked in detail by the trainer. */
  @IsOptional() classWeights?: 'balanced' | Record<string, number>;
  @IsOptional() @IsInt() @Min(0) @Max(2 ** 31 - 1) seed?: number;
  // recommender template (src/ml/recommender/recommender-spec.ts checks them in detail)
  @IsOptional() @IsInt() @Min(1) @Max(512) embeddingSize?: number;
  @IsOptional() @IsInt() @Min(1) @Max(100) negatives?: number;
  @IsOptional() @IsIn(['bpr', 'binary']) loss?: 'bpr' | 'binary';
  @IsOptional() @IsInt() @Min(1) @Max(1000) k?: number;
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
  @IsOptional() @IsNumber() @Min(0.01) @Max(0.5) validation?: number;
  @IsOptional() @IsNumber() @Min(0.01) @Max(0.5) test?: number;
  @IsOptional() @IsBoolean() stratify?: boolean;
}

export class CreateTrainingJobDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  datasetVersionId!: string;

  @ApiPropertyOptional({ description: 'Target column (every template except recommender, which takes `columns`)' })
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

  @ApiProperty({ description: 'Registry name of the model the trained version is registered under' })
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
export class TrainingJobListQuery {
  @ApiPropertyOptional({ description: `One status or a comma list: ${JOB_STATUSES.join(', ')}`, example: 'queued,running' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').map((v) => v.trim()) : value))
  @IsArray({ message: 'status must be one status or a comma list of statuses' })
  @IsIn(JOB_STATUSES, { each: true, message: `status must be one or more of ${JOB_STATUSES.join(', ')} (comma separated)` })
  status?: Array<(typeof JOB_STATUSES)[number]>;

  @ApiPropertyOptional({ description: 'Registry name of the model the jobs train' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  model?: string;

  @ApiPropertyOptional({ description: 'A dataset (id or name: jobs on any of its versions) or one dataset version id' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  dataset?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_JOB_PAGE, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: `limit must be an integer from 1 to ${MAX_JOB_PAGE}` })
  @Min(1, { message: `limit must be an integer from 1 to ${MAX_JOB_PAGE}` })
  @Max(MAX_JOB_PAGE, { message: `limit must be an integer from 1 to ${MAX_JOB_PAGE}` })
  limit?: number;

  @ApiPropertyOptional({ description: 'The `x-next-cursor` header of the previous page (also in its `link: <…>; rel="next"`)' })
  @IsOptional()
  @IsUUID('all', { message: 'cursor must be the x-next-cursor of a previous page' })
  cursor?: string;
}
