import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { writeAdminEvent, type AdminActor } from '../platform/audit-trail/admin-event-outbox';
import { modelVersionDto } from './models.dto';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { ModelAliasEntity, ModelAliasHistoryEntity } from './model-alias.entity';
import { deploymentReference } from './deployment-references';
import { ModelEntity } from './model.entity';
import { ModelLineage, ModelVersionEntity } from './model-version.entity';
import { ArtifactStore } from '../platform/artifacts';
import type {
  ModelVersionMetrics,
  ModelVersionPreprocessing,
  ModelVersionRecommender,
  ModelVersionSignature,
  ModelVersionTarget,
} from '../contracts';
import { readModelBytes, type ModelBytes } from '../platform/tfjs/artifact-io';
import { onnxGraphOfTrainedModel } from './trained-onnx-export';
import type { ProductionVersion, PromotionDecision } from '../contracts';
import { noSuchAlias, resolveVersionSelector, type VersionSelector } from './version-selector';

export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** What a trained model registers (artifacts already durable in the artifact store). */
export interface NewTrainedVersion {
  modelName: string;
  trainingJobId: string;
  task: string;
  modelJsonSha256: string;
  weightsSha256: string;
  signature: ModelVersionSignature;
  /** Null for recommender versions (which have `recommender` instead). */
  preprocessing: ModelVersionPreprocessing | null;
  target: ModelVersionTarget | null;
  metrics: ModelVersionMetrics;
  lineage: ModelLineage;
  recommender?: ModelVersionRecommender | null;
  createdBy: string | null;
  /** The ONNX graph exported from the TF.js artifact (`exportOnnxGraph`), already in the artifact store; null: none. */
  onnxSha256?: string | null;
}

/** A validated imported model (artifacts already durable in the artifact store). */
export interface NewImportedVersion {
  modelName: string;
  format: 'layers-model' | 'graph-model' | 'onnx';
  /** ONNX imports with a record contract (`signature` part): what the record API needs. */
  task?: string | null;
  preprocessing?: ModelVersionPreprocessing | null;
  target?: ModelVersionTarget | null;
  modelJsonSha256: string;
  weightsSha256: string;
  signature: ModelVersionSignature;
  lineage: ModelLineage;
  /** Imported recommender embeddings (task `recommendation`): what serving needs besides the model. */
  recommender?: ModelVersionRecommender | null;
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
    private readonly artifacts: ArtifactStore,
  ) {}

  /**
   * Creates the model on first use and takes the next version number under a row lock on the model,
   * so concurrent registrations (trained or imported) get 1, 2, 3… without gaps or duplicates.
   */
  private async nextVersion(m: EntityManager, modelName: string, createdBy: string | null): Promise<ModelEntity> {
    await m.query(`INSERT INTO models (id, name, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [
      randomUUID(),
      modelName,
      createdBy,
    ]);
    const model = await m.findOneOrFail(ModelEntity, { where: { name: modelName }, lock: { mode: 'pessimistic_write' } });
    model.versionCount += 1;
    await m.update(ModelEntity, { id: model.id }, { versionCount: model.versionCount });
    return model;
  }

  /**
   * Registers an imported version: creates the model on first use; version numbers are shared with
   * trained versions. The version row (what makes the import visible; its artifacts were stored
   * before) commits with its `model.imported` event by `actor`.
   */
  async registerImportedVersion(v: NewImportedVersion, actor: AdminActor): Promise<{ model: ModelEntity; version: ModelVersionEntity }> {
    return this.db.transaction(async (m) => {
      const model = await this.nextVersion(m, v.modelName, v.createdBy);
      const version = m.create(ModelVersionEntity, {
        id: randomUUID(),
        modelId: model.id,
        version: model.versionCount,
        source: 'imported',
        status: 'active',
        format: v.format,
        task: v.task ?? null,
        modelJsonSha256: v.modelJsonSha256,
        weightsSha256: v.weightsSha256,
        signature: v.signature,
        preprocessing: v.preprocessing ?? null,
        target: v.target ?? null,
        metrics: null,
        onnxSha256: null,
        lineage: v.lineage,
        recommender: v.recommender ?? null,
        trainingJobId: null,
        createdBy: v.createdBy,
        archivedAt: null,
        archivedBy: null,
      });
      await m.insert(ModelVersionEntity, version);
      const inserted = await m.findOneByOrFail(ModelVersionEntity, { id: version.id });
      const after = modelVersionDto(model, inserted, await this.aliasesOf(model.id, m));
      await writeAdminEvent(m, actor, { action: 'model.imported', target: { name: v.modelName }, before: null, after });
      return { model, version: inserted };
    });
  }

  /**
   * The serialized ONNX graph of a version: an imported ONNX version's own graph, a trained version's
   * graph exported at registration, or, for a trained version registered before ONNX export existed,
   * one exported now from its TF.js artifact (not stored: the version row is immutable). Null for
   * imported TF.js models, which have none.
   */
  async loadOnnxGraph(v: ModelVersionEntity): Promise<Buffer | null> {
    if (v.format === 'onnx') return this.artifacts.getBuffer(v.weightsSha256);
    if (v.onnxSha256) return this.artifacts.getBuffer(v.onnxSha256);
    if (v.source !== 'trained') return null;
    return onnxGraphOfTrainedModel(await this.loadBytes(v), v.signature);
  }

  /**
   * Exports a trained model's TF.js artifact to an ONNX graph and stores it; returns its artifact id,
   * or null (with the reason) when the model has no ONNX equivalent: the TF.js artifact is the source of
   * truth and the version registers either way.
   */
  async exportOnnxGraph(
    bytes: ModelBytes,
    signature: ModelVersionSignature,
    producerVersion: string,
  ): Promise<{ sha256: string | null; error: string | null }> {
    try {
      const graph = await onnxGraphOfTrainedModel(bytes, signature, producerVersion);
      return { sha256: (await this.artifacts.put(graph)).sha256, error: null };
    } catch (e) {
      return { sha256: null, error: e instanceof Error ? e.message : String(e) };
    }
  }

  /** model.json + weights of a version, from the artifact store. */
  async loadBytes(v: ModelVersionEntity): Promise<ModelBytes> {
    return readModelBytes(this.artifacts, v.modelJsonSha256, v.weightsSha256);
  }

  /** The version `production` points at (what a training job's if-better comparison scores), or null (no model / no alias). */
  async productionVersion(modelName: string): Promise<ProductionVersion | null> {
    const model = MODEL_NAME_PATTERN.test(modelName) ? await this.models.findOneBy({ name: modelName }) : null;
    if (!model) return null;
    const rows: Array<{ model_version_id: string }> = await this.db.query(
      `SELECT model_version_id FROM model_aliases WHERE model_id = $1 AND alias = 'production'`,
      [model.id],
    );
    const v = rows[0] ? await this.versions.findOneBy({ id: rows[0].model_version_id }) : null;
    if (!v) return null;
    return {
      version: v.version,
      task: v.task,
      metrics: v.metrics,
      preprocessing: v.preprocessing,
      target: v.target,
      modelJsonSha256: v.modelJsonSha256,
      weightsSha256: v.weightsSha256,
    };
  }

  /**
   * Applies a promotion decision inside the caller's (registration) transaction: moves `production`
   * to `version` when the decision says so, with a history row (actor, reason). For if-better the
   * comparison was made against `decision.productionVersion`; if another writer moved production
   * meanwhile, nothing moves (the comparison is stale) and the decision says so.
   */
  async applyPromotion(
    m: EntityManager,
    model: ModelEntity,
    version: ModelVersionEntity,
    decision: PromotionDecision,
    by: string | null,
    actor: AdminActor,
  ): Promise<PromotionDecision> {
    await m.findOneOrFail(ModelEntity, { where: { id: model.id }, lock: { mode: 'pessimistic_write' } });
    const from = await this.currentAliasVersion(m, model.id, decision.alias);
    if (!decision.promote) return { ...decision, promoted: false, from, to: from };
    if (decision.mode === 'if-better' && (decision.productionVersion ?? null) !== from && from !== version.version) {
      return {
        ...decision,
        promote: false,
        promoted: false,
        from,
        to: from,
        reason: `${decision.reason}; not applied: production moved to version ${from} meanwhile`,
      };
    }
    if (from === version.version) return { ...decision, promoted: true, from, to: from };
    const now = new Date();
    await m.upsert(
      ModelAliasEntity,
      { modelId: model.id, alias: decision.alias, modelVersionId: version.id, updatedBy: by, updatedAt: now },
      ['modelId', 'alias'],
    );
    await m.insert(ModelAliasHistoryEntity, {
      modelId: model.id,
      alias: decision.alias,
      fromVersion: from,
      toVersion: version.version,
      changedBy: by,
      changedAt: now,
      reason: `training job ${version.trainingJobId}: ${decision.reason}`.slice(0, 2000),
    });
    await aliasMovedEvent(m, actor, model.name, decision.alias, from, version.version);
    return { ...decision, promoted: true, from, to: version.version };
  }

  /**
   * Archives a version: it stops being servable and cannot take an alias. 409 while an alias points
   * at it or a deployment routes to it / shadows it (move or delete those first). Idempotent: archiving an archived version returns it
   * (and, changing nothing, logs nothing); an archive commits with its `model-version.archived` event by `actor`.
   */
  async archive(
    name: string,
    version: number,
    by: string | null,
    actor: AdminActor,
  ): Promise<{ model: ModelEntity; version: ModelVersionEntity }> {
    return this.db.transaction(async (m) => {
      const model = await this.lockModel(m, name);
      const v = await m.findOneBy(ModelVersionEntity, { modelId: model.id, version });
      if (!v) throw new NotFoundException(`model ${name} has no version ${version}`);
      if (v.status === 'archived') return { model, version: v };
      const aliases: Array<{ alias: string }> = await m.query(
        `SELECT alias FROM model_aliases WHERE model_version_id = $1 ORDER BY alias`,
        [v.id],
      );
      if (aliases.length) {
        const list = aliases.map((a) => a.alias).join(', ');
        throw new ConflictException(
          `version ${version} of model ${name} is behind alias(es) ${list}; move or delete them before archiving`,
        );
      }
      const deployed = await deploymentReference(m, model.id, v.id);
      if (deployed)
        throw new ConflictException(
          `version ${version} of model ${name} is used by the deployment (as a ${deployed}); ` +
            `change or delete the deployment before archiving`,
        );
      await m.update(ModelVersionEntity, { id: v.id }, { status: 'archived', archivedAt: new Date(), archivedBy: by });
      const archived = await m.findOneByOrFail(ModelVersionEntity, { id: v.id });
      const after = modelVersionDto(model, archived, await this.aliasesOf(model.id, m));
      await writeAdminEvent(m, actor, {
        action: 'model-version.archived',
        target: { name, version: String(version) },
        before: null,
        after,
      });
      return { model, version: archived };
    });
  }

  /**
   * Registers a trained version inside the caller's transaction (`m`), so the caller can mark its
   * job succeeded atomically with it. Creates the model on first use. If the job already
   * registered a version (a replayed job), returns that one instead of registering another.
   */
  async registerTrainedVersion(m: EntityManager, v: NewTrainedVersion): Promise<{ model: ModelEntity; version: ModelVersionEntity }> {
    const existing = await m.findOneBy(ModelVersionEntity, { trainingJobId: v.trainingJobId });
    if (existing) return { model: await m.findOneByOrFail(ModelEntity, { id: existing.modelId }), version: existing };
    const model = await this.nextVersion(m, v.modelName, v.createdBy);
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
      recommender: v.recommender ?? null,
      trainingJobId: v.trainingJobId,
      createdBy: v.createdBy,
      onnxSha256: v.onnxSha256 ?? null,
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

  /**
   * The version a selector names, read from the registry: 404 naming `model`, `version` or `alias`
   * (the field of the request that names what is missing). An empty selector means `defaultAlias`.
   */
  async selectVersion(
    name: string,
    selector: VersionSelector,
    defaultAlias = 'production',
  ): Promise<{ model: ModelEntity; version: ModelVersionEntity }> {
    const model = await this.getModel(name).catch((e: unknown) => {
      throw e instanceof NotFoundException ? new NotFoundException(`model: model ${name} not found`) : e;
    });
    const chosen = selector.version === undefined && selector.alias === undefined ? { alias: defaultAlias } : selector;
    const aliases = chosen.alias !== undefined ? await this.aliasesOf(model.id) : {};
    const number = resolveVersionSelector(name, chosen, (a) => (Object.hasOwn(aliases, a) ? aliases[a] : undefined))!;
    const version = await this.versions.findOneBy({ modelId: model.id, version: number });
    if (!version) throw new NotFoundException(`version: model ${name} has no version ${number}`);
    return { model, version };
  }

  async versionById(id: string): Promise<{ model: ModelEntity; version: ModelVersionEntity } | null> {
    const v = await this.versions.findOneBy({ id });
    if (!v) return null;
    return { model: await this.models.findOneByOrFail({ id: v.modelId }), version: v };
  }

  /** alias → version number, for one model. */
  async aliasesOf(modelId: string, m: EntityManager = this.db.manager): Promise<Record<string, number>> {
    const rows: Array<{ alias: string; version: number }> = await m.query(
      `SELECT a.alias, v.version FROM model_aliases a JOIN model_versions v ON v.id = a.model_version_id ` +
        `WHERE a.model_id = $1 ORDER BY a.alias`,
      [modelId],
    );
    return Object.fromEntries(rows.map((r) => [r.alias, Number(r.version)]));
  }

  /**
   * Points `alias` at `version` (atomic, with a history row and its `alias.moved` event in the same
   * transaction). Archived versions cannot take an alias (409). A call that moves nothing logs nothing.
   */
  async setAlias(name: string, alias: string, version: number, by: string | null, actor: AdminActor): Promise<AliasChange> {
    return this.db.transaction(async (m) => {
      const model = await this.lockModel(m, name);
      const target = await m.findOneBy(ModelVersionEntity, { modelId: model.id, version });
      if (!target) throw new NotFoundException(`model ${name} has no version ${version}`);
      if (target.status !== 'active')
        throw new ConflictException(`version ${version} of model ${name} is ${target.status} and cannot take an alias`);
      const from = await this.currentAliasVersion(m, model.id, alias);
      if (from === version) return { alias, from, to: version };
      const now = new Date();
      await m.upsert(ModelAliasEntity, { modelId: model.id, alias, modelVersionId: target.id, updatedBy: by, updatedAt: now }, [
        'modelId',
        'alias',
      ]);
      await m.insert(ModelAliasHistoryEntity, {
        modelId: model.id,
        alias,
        fromVersion: from,
        toVersion: version,
        changedBy: by,
        changedAt: now,
      });
      await aliasMovedEvent(m, actor, model.name, alias, from, version);
      return { alias, from, to: version };
    });
  }

  async deleteAlias(name: string, alias: string, by: string | null, actor: AdminActor): Promise<AliasChange> {
    return this.db.transaction(async (m) => {
      const model = await this.lockModel(m, name);
      const from = await this.currentAliasVersion(m, model.id, alias);
      if (from === null) throw noSuchAlias(name, alias);
      await m.delete(ModelAliasEntity, { modelId: model.id, alias });
      await m.insert(ModelAliasHistoryEntity, {
        modelId: model.id,
        alias,
        fromVersion: from,
        toVersion: null,
        changedBy: by,
        changedAt: new Date(),
      });
      const target = { model: model.name, alias };
      await writeAdminEvent(m, actor, { action: 'alias.deleted', target, before: from, after: null });
      return { alias, from, to: null };
    });
  }

  async aliasHistory(name: string, alias: string): Promise<ModelAliasHistoryEntity[]> {
    const model = await this.getModel(name);
    return this.history.find({ where: { modelId: model.id, alias }, order: { id: 'ASC' } });
  }

  private async lockModel(m: EntityManager, name: string): Promise<ModelEntity> {
    const model = MODEL_NAME_PATTERN.test(name)
      ? await m.findOne(ModelEntity, { where: { name }, lock: { mode: 'pessimistic_write' } })
      : null;
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

/**
 * The one `alias.moved` event of every alias move, whoever makes it (a key through the alias API,
 * a training job's promotion, a drift-triggered retrain), written in the move's transaction:
 * target = model and alias, before = the version it pointed at (null if none), after = the new one.
 */
function aliasMovedEvent(
  m: EntityManager,
  actor: AdminActor,
  model: string,
  alias: string,
  from: number | null,
  to: number,
): Promise<string> {
  return writeAdminEvent(m, actor, { action: 'alias.moved', target: { model, alias }, before: from, after: to });
}
