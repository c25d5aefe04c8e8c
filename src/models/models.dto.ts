import { ApiProperty } from '@nestjs/swagger';
import { MAX_VERSION_NUMBER } from './version-number';
import { IsVersionNumber } from './version-selector';
import type { ModelAliasHistoryEntity } from './model-alias.entity';
import type { ModelEntity } from './model.entity';
import type { ModelVersionEntity } from './model-version.entity';

export class SetAliasDto {
  @ApiProperty({ description: 'Version number the alias points to', minimum: 1, maximum: MAX_VERSION_NUMBER })
  @IsVersionNumber()
  version!: number;
}

export interface ModelDto {
  id: string;
  name: string;
  description: string | null;
  latestVersion: number | null;
  aliases: Record<string, number>;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
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
