import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_VERSION_NUMBER } from './version-number';
import { IsVersionNumber } from './version-selector';
import type { ModelAliasHistoryEntity } from './model-alias.entity';
import type { ModelEntity } from './model.entity';
import type { ModelVersionEntity } from './model-version.entity';

export class SetAliasDto {
  @ApiProperty({ description: 'Version number the alias points to', minimum: 1, maximum: MAX_VERSION_NUMBER, example: 1 })
  @IsVersionNumber()
  version!: number;
}

const OBJECT = { type: 'object', additionalProperties: true } as const;

export class ModelDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'penguins' }) name!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) description!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'Highest version number; null before the first' })
  latestVersion!: number | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, example: { production: 1 }, description: 'alias → version' })
  aliases!: Record<string, number>;
  @ApiPropertyOptional({ nullable: true, type: String }) createdBy!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class TensorSpecDto {
  @ApiProperty() name!: string;
  @ApiProperty({ example: 'float32' }) dtype!: string;
  @ApiProperty({ type: [Number], description: '-1: any size' }) shape!: number[];
}

export class FeatureSpecDto {
  @ApiProperty({ description: 'The column name a record must carry' }) name!: string;
  @ApiProperty({ example: 'numeric' }) type!: string;
}

export class SignatureDto {
  @ApiProperty({ type: [TensorSpecDto] }) inputs!: TensorSpecDto[];
  @ApiProperty({ type: [TensorSpecDto] }) outputs!: TensorSpecDto[];
  @ApiPropertyOptional({ type: [FeatureSpecDto], description: 'Named features the record API expects (trained models)' })
  features?: FeatureSpecDto[];
}

export class ModelArtifactsDto {
  @ApiPropertyOptional({ nullable: true, type: String, description: 'SHA-256 of the TF.js model.json' }) modelJson!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) weights!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'SHA-256 of the ONNX graph' }) onnx!: string | null;
}

export class ModelVersionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() model!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ enum: ['trained', 'imported'] }) source!: string;
  @ApiProperty({ example: 'ready' }) status!: string;
  @ApiProperty({ example: 'tfjs-layers' }) format!: string;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'multiclass' }) task!: string | null;
  @ApiProperty({ type: [String], description: 'Aliases pointing at this version' }) aliases!: string[];
  @ApiProperty({ type: SignatureDto }) signature!: unknown;
  @ApiPropertyOptional({ ...OBJECT, nullable: true, description: 'Feature encoding applied before the model' }) preprocessing!: unknown;
  @ApiPropertyOptional({ ...OBJECT, nullable: true, description: '{name, task, classes?, columnType}' }) target!: unknown;
  @ApiPropertyOptional({ ...OBJECT, nullable: true, description: '{validation, test} metrics' }) metrics!: unknown;
  @ApiPropertyOptional({ ...OBJECT, nullable: true, description: 'Dataset, job, hyperparameters, code version, timings' })
  lineage!: unknown;
  @ApiPropertyOptional({ ...OBJECT, nullable: true, description: 'Recommender versions only' }) recommender!: unknown;
  @ApiProperty({ type: ModelArtifactsDto }) artifacts!: ModelArtifactsDto;
  @ApiProperty({ type: [String], example: ['tfjs', 'onnxruntime'] }) engines!: string[];
  @ApiPropertyOptional({ nullable: true, type: String }) createdBy!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) archivedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) archivedBy!: string | null;
}

export class AliasChangeDto {
  @ApiProperty() model!: string;
  @ApiProperty() alias!: string;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'Version before the change' }) from!: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'Version after the change (null: deleted)' }) to!: number | null;
  @ApiPropertyOptional({ type: Number, description: 'PUT only: the version the alias now points at' }) version?: number;
}

export class AliasHistoryEntryDto {
  @ApiProperty() model!: string;
  @ApiProperty() alias!: string;
  @ApiPropertyOptional({ nullable: true, type: Number }) from!: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) to!: number | null;
  @ApiPropertyOptional({ nullable: true, type: String }) changedBy!: string | null;
  @ApiProperty({ format: 'date-time' }) changedAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) reason!: string | null;
}

export function modelDto(m: ModelEntity, aliases: Record<string, number>): ModelDto {
  return {
    id: m.id,
    name: m.name,
    description: m.description,
    latestVersion: m.versionCount > 0 ? m.versionCount : null,
    aliases,
    createdBy: m.createdBy,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  };
}

export function modelVersionDto(m: ModelEntity, v: ModelVersionEntity, aliases: Record<string, number>) {
  return {
    id: v.id,
    model: m.name,
    version: v.version,
    source: v.source,
    status: v.status,
    format: v.format,
    task: v.task,
    aliases: Object.entries(aliases)
      .filter(([, n]) => n === v.version)
      .map(([a]) => a),
    signature: v.signature,
    preprocessing: v.preprocessing,
    target: v.target,
    metrics: v.metrics,
    lineage: v.lineage,
    /** Recommender versions: feedback kind, interaction columns, catalogue sizes, index artifact. */
    recommender: v.recommender ?? null,
    artifacts: { modelJson: v.modelJsonSha256, weights: v.weightsSha256, onnx: v.onnxSha256 ?? null },
    /** Engines that can serve this version (ONNX Runtime: an imported graph or one exported from the TF.js artifact). */
    engines: v.format === 'onnx' ? ['onnxruntime'] : v.onnxSha256 ? ['tfjs', 'onnxruntime'] : ['tfjs'],
    createdBy: v.createdBy,
    createdAt: v.createdAt.toISOString(),
    archivedAt: v.archivedAt?.toISOString() ?? null,
    archivedBy: v.archivedBy ?? null,
  };
}

export function aliasHistoryDto(model: string, h: ModelAliasHistoryEntity) {
  return {
    model,
    alias: h.alias,
    from: h.fromVersion,
    to: h.toVersion,
    changedBy: h.changedBy,
    changedAt: h.changedAt.toISOString(),
    reason: h.reason ?? null,
  };
}
