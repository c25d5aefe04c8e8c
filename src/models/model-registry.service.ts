import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { ModelAliasEntity, ModelAliasHistoryEntity } from './model-alias.entity';
import { ModelEntity } from './model.entity';
import { ModelLineage, ModelVersionEntity } from './model-version.entity';

export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ALIAS_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What a trained model registers (artifacts already durable in the artifact store). */
export interface NewTrainedVersion {
  modelName: string;
  trainingJobId: string;
  task: string;
  modelJsonSha256: string;
  weightsSha256: string;
  signature: object;
  preprocessing: object;
  target: object;
  metrics: object;
  lineage: ModelLineage;
  createdBy: string | null;
}

export interface AliasChange {
  alias: string;
  from: number | null;
  to: number | null;
}

/**
 * The model registry: models, immutable versions, aliases and their history. Writes that change
 * more than one row run in one transaction; the model row is locked (`FOR UPDATE`) while a version
 * number is handed out or an alias moves, so concurrent writers serialise per model.
 */
@Injectable()
export class ModelRegistry {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(ModelEntity) private readonly models: Repository<ModelEntity>,
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
    @InjectRepository(ModelAliasHistoryEntity) private readonly history: Repository<ModelAliasHistoryEntity>,
  ) {}

  /**
   * Registers a trained version inside the caller's transaction (`m`), so the caller can mark its
   * job succeeded atomically with it. Creates the model on first use. If the job already
   * registered a version (a replayed job), returns that one instead of registering another.
   */
  async registerTrainedVersion(m: EntityManager, v: NewTrainedVersion): Promise<{ model: ModelEntity; version: ModelVersionEntity }> {
    const existing = await m.findOneBy(ModelVersionEntity, { trainingJobId: v.trainingJobId });
    if (existing) return { model: await m.findOneByOrFail(ModelEntity, { id: existing.modelId }), version: existing };
    await m.query(`INSERT INTO models (id, name, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [randomUUID(), v.modelName, v.createdBy]);
    const model = await m.findOneOrFail(ModelEntity, { where: { name: v.modelName }, lock: { mode: 'pessimistic_write' } });
    model.versionCount += 1;
    await m.update(ModelEntity, { id: model.id }, { versionCount: model.versionCount });
    const version = m.create(ModelVersionEntity, {
      id: randomUUID(),
      modelId: model.id,
      version: model.versionCount,
      source: 'trained',
      status: 'active',
      format: 'layers-model',
      task: v.task,
      modelJsonSha256: v.modelJsonSha256,
      weightsSha256: v.weightsSha256,
      signature: v.signature,
      preprocessing: v.preprocessing,
      target: v.target,
      metrics: v.metrics,
      lineage: v.lineage,
      trainingJobId: v.trainingJobId,
      createdBy: v.createdBy,
    });
    await m.insert(ModelVersionEntity, version);
    return { model, version };
  }

  async list(): Promise<ModelEntity[]> {
    return this.models.find({ order: { name: 'ASC' } });
  }

  async getModel(name: string): Promise<ModelEntity> {
    const model = MODEL_NAME_PATTERN.test(name) ? await this.models.findOneBy({ name }) : null;
    if (!model) throw new NotFoundException(`model ${name} not found`);
    return model;
  }

  async listVersions(modelId: string): Promise<ModelVersionEntity[]> {
    return this.versions.find({ where: { modelId }, order: { version: 'DESC' } });
  }

  async getVersion(name: string, version: number): Promise<{ model: ModelEntity; version: ModelVersionEntity }> {
    const model = await this.getModel(name);
    const v = await this.versions.findOneBy({ modelId: model.id, version });
    if (!v) throw new NotFoundException(`model ${name} has no version ${version}`);
    return { model, version: v };
  }

  async versionById(id: string): Promise<{ model: ModelEntity; version: ModelVersionEntity } | null> {
    const v = await this.versions.findOneBy({ id });
    if (!v) return null;
    return { model: await this.models.findOneByOrFail({ id: v.modelId }), version: v };
  }

  /** alias → version number, for one model. */
  async aliasesOf(modelId: string): Promise<Record<string, number>> {
    const rows: Array<{ alias: string; version: number }> = await this.db.query(
      `SELECT a.alias, v.version FROM model_aliases a JOIN model_versions v ON v.id = a.model_version_id WHERE a.model_id = $1 ORDER BY a.alias`,
      [modelId],
    );
    return Object.fromEntries(rows.map((r) => [r.alias, Number(r.version)]));
  }

  /** Points `alias` at `version` (atomic, with a history row). Archived versions cannot take an alias (409). */
  async setAlias(name: string, alias: string, version: number, by: string | null): Promise<AliasChange> {
    return this.db.transaction(async (m) => {
      const model = await this.lockModel(m, name);
      const target = await m.findOneBy(ModelVersionEntity, { modelId: model.id, version });
      if (!target) throw new NotFoundException(`model ${name} has no version ${version}`);
      if (target.status !== 'active') throw new ConflictException(`version ${version} of model ${name} is ${target.status} and cannot take an alias`);
      const from = await this.currentAliasVersion(m, model.id, alias);
      if (from === version) return { alias, from, to: version };
      const now = new Date();
      await m.upsert(ModelAliasEntity, { modelId: model.id, alias, modelVersionId: target.id, updatedBy: by, updatedAt: now }, ['modelId', 'alias']);
      await m.insert(ModelAliasHistoryEntity, { modelId: model.id, alias, fromVersion: from, toVersion: version, changedBy: by, changedAt: now });
      return { alias, from, to: version };
    });
  }

  async deleteAlias(name: string, alias: string, by: string | null): Promise<AliasChange> {
    return this.db.transaction(async (m) => {
      const model = await this.lockModel(m, name);
      const from = await this.currentAliasVersion(m, model.id, alias);
      if (from === null) throw new NotFoundException(`model ${name} has no alias ${alias}`);
      await m.delete(ModelAliasEntity, { modelId: model.id, alias });
      await m.insert(ModelAliasHistoryEntity, { modelId: model.id, alias, fromVersion: from, toVersion: null, changedBy: by, changedAt: new Date() });
      return { alias, from, to: null };
    });
  }

  async aliasHistory(name: string, alias: string): Promise<ModelAliasHistoryEntity[]> {
    const model = await this.getModel(name);
    return this.history.find({ where: { modelId: model.id, alias }, order: { id: 'ASC' } });
  }

  private async lockModel(m: EntityManager, name: string): Promise<ModelEntity> {
    const model = MODEL_NAME_PATTERN.test(name) ? await m.findOne(ModelEntity, { where: { name }, lock: { mode: 'pessimistic_write' } }) : null;
    if (!model) throw new NotFoundException(`model ${name} not found`);
    return model;
  }

  private async currentAliasVersion(m: EntityManager, modelId: string, alias: string): Promise<number | null> {
    const rows: Array<{ version: number }> = await m.query(
      `SELECT v.version FROM model_aliases a JOIN model_versions v ON v.id = a.model_version_id WHERE a.model_id = $1 AND a.alias = $2`,
      [modelId, alias],
    );
    return rows[0] ? Number(rows[0].version) : null;
  }
}
