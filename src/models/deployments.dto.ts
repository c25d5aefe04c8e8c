/** Request bodies of the deployment and serving-settings API (checked again in depth by deployment-rules.ts). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  MAX_ROUTE_WEIGHT,
  MAX_ROUTES,
  SERVING_BOUNDS,
  SERVING_DEFAULTS,
  SERVING_ENGINES,
  type ServingEnginePreference,
} from './deployment-rules';
import { IsAliasName, IsVersionNumber } from './version-selector';
import { MAX_VERSION_NUMBER } from './version-number';

export class DeploymentRouteDto {
  @ApiPropertyOptional({ description: 'A fixed version (exactly one of version or alias)', minimum: 1, maximum: MAX_VERSION_NUMBER })
  @IsOptional()
  @IsVersionNumber()
  version?: number;

  @ApiPropertyOptional({
    description: 'An alias; the route follows it when it moves (exactly one of version or alias)',
    example: 'production',
  })
  @IsOptional()
  @IsAliasName()
  alias?: string;

  @ApiProperty({
    description: 'Relative weight (normalised over the routes), > 0',
    exclusiveMinimum: true,
    minimum: 0,
    maximum: MAX_ROUTE_WEIGHT,
    example: 90,
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(MAX_ROUTE_WEIGHT)
  weight!: number;
}

export class SetDeploymentDto {
  @ApiProperty({
    type: [DeploymentRouteDto],
    description: `1–${MAX_ROUTES} routes in order: the first is the primary, the others canaries`,
    example: [
      { alias: 'production', weight: 90 },
      { version: 4, weight: 10 },
    ],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ROUTES)
  @ValidateNested({ each: true })
  @Type(() => DeploymentRouteDto)
  routes!: DeploymentRouteDto[];

  @ApiPropertyOptional({
    description: 'Version that gets a copy of every request (its answers are only recorded); null: none',
    minimum: 1,
    maximum: MAX_VERSION_NUMBER,
    nullable: true,
    type: Number,
  })
  @IsOptional()
  @IsVersionNumber()
  shadow?: number | null;
}

const b = SERVING_BOUNDS;
const d = SERVING_DEFAULTS;

/** Partial update: fields left out keep their current value. */
export class SetServingDto {
  @ApiPropertyOptional({
    enum: SERVING_ENGINES,
    description:
      "Engine of the model's Kiln-trained versions: tfjs (the TF.js artifact), onnxruntime (the ONNX graph exported from it), " +
      `auto (ONNX Runtime when the version has a graph); default ${d.engine}. Imported ONNX graphs always run on ONNX Runtime`,
  })
  @IsOptional()
  @IsIn(SERVING_ENGINES)
  engine?: ServingEnginePreference;

  @ApiPropertyOptional({
    description: `Largest batch per model call (1 = batching off); default ${d.maxBatchSize}`,
    minimum: b.maxBatchSize.min,
    maximum: b.maxBatchSize.max,
  })
  @IsOptional()
  @IsInt()
  @Min(b.maxBatchSize.min)
  @Max(b.maxBatchSize.max)
  maxBatchSize?: number;

  @ApiPropertyOptional({
    description:
      `How long a queued request may wait for a batch to fill (0: batch what queued while the previous batch ran); ` +
      `default ${d.maxQueueDelayMs}`,
    minimum: b.maxQueueDelayMs.min,
    maximum: b.maxQueueDelayMs.max,
  })
  @IsOptional()
  @IsInt()
  @Min(b.maxQueueDelayMs.min)
  @Max(b.maxQueueDelayMs.max)
  maxQueueDelayMs?: number;

  @ApiPropertyOptional({
    description: `Requests waiting per version before 503; default ${d.maxQueueSize}`,
    minimum: b.maxQueueSize.min,
    maximum: b.maxQueueSize.max,
  })
  @IsOptional()
  @IsInt()
  @Min(b.maxQueueSize.min)
  @Max(b.maxQueueSize.max)
  maxQueueSize?: number;

  @ApiPropertyOptional({
    description: `Queue wait + compute before 503; default ${d.timeoutMs}`,
    minimum: b.timeoutMs.min,
    maximum: b.timeoutMs.max,
  })
  @IsOptional()
  @IsInt()
  @Min(b.timeoutMs.min)
  @Max(b.timeoutMs.max)
  timeoutMs?: number;
}

// ---- responses

export class DeploymentRouteViewDto {
  @ApiPropertyOptional({ description: 'The alias the route follows' }) alias?: string;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'The version it sends to now' }) version!: number | null;
  @ApiProperty({ description: 'Relative weight' }) weight!: number;
}

export class ShadowViewDto {
  @ApiProperty() version!: number;
}

export class DeploymentViewDto {
  @ApiProperty() model!: string;
  @ApiProperty({ type: [DeploymentRouteViewDto] }) routes!: DeploymentRouteViewDto[];
  @ApiPropertyOptional({ type: ShadowViewDto, nullable: true }) shadow!: ShadowViewDto | null;
  @ApiPropertyOptional({ nullable: true, type: String }) updatedBy!: string | null;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class ServingViewDto {
  @ApiProperty() model!: string;
  @ApiProperty({ enum: ['auto', 'tfjs', 'onnxruntime'] }) engine!: string;
  @ApiProperty({ description: 'Largest batch one model call runs; 1 turns batching off' }) maxBatchSize!: number;
  @ApiProperty() maxQueueDelayMs!: number;
  @ApiProperty({ description: 'Requests waiting per version; past it, 503' }) maxQueueSize!: number;
  @ApiProperty({ description: 'Queue wait + compute limit; past it, 503' }) timeoutMs!: number;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'null while the defaults apply' }) updatedBy!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) updatedAt!: string | null;
}
