import { ConflictException, HttpException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { writeAdminEvent, type AdminActor } from '../platform/audit-trail/admin-event-outbox';
import { ValidationProblemException } from '../platform/http/validation';
import {
  deploymentInputErrors,
  servingInputErrors,
  SERVING_DEFAULTS,
  type DeploymentInput,
  type ServingSettings,
  type BatchingKey,
} from './deployment-rules';
import { ModelDeploymentEntity, type StoredRoute } from './model-deployment.entity';
import { MODEL_NAME_PATTERN } from './model-registry.service';
import { ModelServingSettingsEntity } from './model-serving-settings.entity';
import { ModelEntity } from './model.entity';
import { ModelVersionEntity } from './model-version.entity';
import { buildRoutingSnapshot, type RoutingRow, type RoutingSnapshot, type VersionRef } from './routing-snapshot';

/** A deployment as the API shows it: alias routes with the version their alias points at now (null once deleted). */
export interface DeploymentView {
  model: string;
  routes: Array<{ alias?: string; version: number | null; weight: number }>;
  shadow: { version: number } | null;
  updatedBy: string | null;
  updatedAt: string;
}

/** Effective serving settings; `updatedBy`/`updatedAt` are null while the defaults apply. */
export interface ServingView extends ServingSettings {
  model: string;
  updatedBy: string | null;
  updatedAt: string | null;
}

/** A 404/409 that names the field it is about (rendered as problem+json `errors`, like a 400). */
function fieldError(Exception: typeof NotFoundException | typeof ConflictException, field: string, reason: string): HttpException {
  return new Exception({ message: `${field}: ${reason}`, errors: [{ field, reason }] });
}

const SNAPSHOT_SQL = `
  SELECT m.id AS model_id, m.name,
    COALESCE((SELECT jsonb_object_agg(a.alias, jsonb_build_object('version', v.version, 'versionId', v.id))
              FROM model_aliases a JOIN model_versions v ON v.id = a.model_version_id WHERE a.model_id = m.id), '{}'::jsonb) AS aliases,
    d.routes, sv.version AS shadow_version, sv.id AS shadow_version_id,
    s.max_batch_size, s.max_queue_delay_ms, s.max_queue_size, s.timeout_ms, s.engine
  FROM models m
  LEFT JOIN model_deployments d ON d.model_id = m.id
  LEFT JOIN model_versions sv ON sv.id = d.shadow_version_id
  LEFT JOIN model_serving_settings s ON s.model_id = m.id
  WHERE d.model_id IS NOT NULL OR s.model_id IS NOT NULL OR EXISTS (SELECT 1 FROM model_aliases a WHERE a.model_id = m.id)
  ORDER BY m.name`;

/**
 * Deployments (weighted canary routes to versions or aliases, plus an optional shadow version) and
 * serving settings of registered models, and the routing snapshot the inference runtime polls.
 * Writes lock the model row (`FOR UPDATE`) like ModelRegistry, so they serialise with alias moves
 * and archiving: a version a deployment uses can never end up archived. Each write commits with its
 * admin event (`deployment.changed`, `deployment.deleted`, `serving-settings.changed`) by `actor`.
 */
@Injectable()
export class ModelDeployments {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Replaces the model's deployment (atomic). Versions must exist and be active; aliases must exist now (routes then follow them). */
  async setDeployment(name: string, input: DeploymentInput, by: string | null, actor: AdminActor): Promise<DeploymentView> {
    const errors = deploymentInputErrors(input);
    if (errors.length) throw new ValidationProblemException(errors);
    return this.db.transaction(async (m) => {
      const model = await this.lockModel(m, name);
      const aliases = await this.aliasesOf(m, model.id);
      const current = await m.findOneBy(ModelDeploymentEntity, { modelId: model.id });
      const before = current ? this.deploymentView(name, current, aliases, await this.versionNumber(m, current.shadowVersionId)) : null;
      const wanted = [...input.routes.flatMap((r) => (r.version ? [r.version] : [])), ...(input.shadow ? [input.shadow] : [])];
      const found = wanted.length ? await m.findBy(ModelVersionEntity, { modelId: model.id, version: In(wanted) }) : [];
      const versions = new Map(found.map((v) => [v.version, v]));
      const activeVersion = (field: string, version: number): ModelVersionEntity => {
        const v = versions.get(version);
        if (!v) throw fieldError(NotFoundException, field, `model ${name} has no version ${version}`);
        if (v.status !== 'active')
          throw fieldError(ConflictException, field, `version ${version} of model ${name} is ${v.status} and cannot be deployed`);
        return v;
      };
      const routes: StoredRoute[] = input.routes.map((r, i) => {
        if (r.alias) {
          if (!aliases.has(r.alias)) throw fieldError(NotFoundException, `routes.${i}.alias`, `model ${name} has no alias ${r.alias}`);
          return { alias: r.alias, weight: r.weight };
        }
        const v = activeVersion(`routes.${i}.version`, r.version!);
        return { version: v.version, versionId: v.id, weight: r.weight };
      });
      const shadow = input.shadow ? activeVersion('shadow', input.shadow) : null;
      if (shadow) {
        const i = routes.findIndex((r) => ('alias' in r ? aliases.get(r.alias)!.version : r.version) === shadow.version);
        if (i >= 0)
          throw new ValidationProblemException([
            { field: 'shadow', reason: `version ${shadow.version} already takes traffic through routes.${i}` },
          ]);
      }
      const row = { modelId: model.id, routes, shadowVersionId: shadow?.id ?? null, updatedBy: by, updatedAt: new Date() };
      await m.upsert(ModelDeploymentEntity, row, ['modelId']);
      const after = this.deploymentView(name, row, aliases, shadow?.version ?? null);
      await writeAdminEvent(m, actor, { action: 'deployment.changed', target: { name }, before, after });
      return after;
    });
  }

  async getDeployment(name: string): Promise<DeploymentView> {
    return this.db.transaction('REPEATABLE READ', async (m) => {
      const model = await this.findModel(m, name);
      const row = await m.findOneBy(ModelDeploymentEntity, { modelId: model.id });
      if (!row) throw new NotFoundException(`model ${name} has no deployment`);
      return this.deploymentView(name, row, await this.aliasesOf(m, model.id), await this.versionNumber(m, row.shadowVersionId));
    });
  }

  /** Removes the deployment (traffic falls back to the `production` alias); returns what was removed. */
  async deleteDeployment(name: string, actor: AdminActor): Promise<DeploymentView> {
    return this.db.transaction(async (m) => {
      const model = await this.lockModel(m, name);
      const row = await m.findOneBy(ModelDeploymentEntity, { modelId: model.id });
      if (!row) throw new NotFoundException(`model ${name} has no deployment`);
      const view = this.deploymentView(name, row, await this.aliasesOf(m, model.id), await this.versionNumber(m, row.shadowVersionId));
      await m.delete(ModelDeploymentEntity, { modelId: model.id });
      await writeAdminEvent(m, actor, { action: 'deployment.deleted', target: { name }, before: null, after: view });
      return view;
    });
  }

  /** Partial update: fields left out keep their current value (the default when none was stored). */
  async setServing(name: string, input: Partial<ServingSettings>, by: string | null, actor: AdminActor): Promise<ServingView> {
    const errors = servingInputErrors(input);
    if (errors.length) throw new ValidationProblemException(errors);
    return this.db.transaction(async (m) => {
      const model = await this.lockModel(m, name);
      const current = await m.findOneBy(ModelServingSettingsEntity, { modelId: model.id });
      const pick = (k: BatchingKey): number => input[k] ?? current?.[k] ?? SERVING_DEFAULTS[k];
      const row = {
        modelId: model.id,
        engine: input.engine ?? current?.engine ?? SERVING_DEFAULTS.engine,
        maxBatchSize: pick('maxBatchSize'),
        maxQueueDelayMs: pick('maxQueueDelayMs'),
        maxQueueSize: pick('maxQueueSize'),
        timeoutMs: pick('timeoutMs'),
        updatedBy: by,
        updatedAt: new Date(),
      };
      await m.upsert(ModelServingSettingsEntity, row, ['modelId']);
      const before = current ? servingView(name, current) : defaultServing(name);
      const after = servingView(name, row);
      await writeAdminEvent(m, actor, { action: 'serving-settings.changed', target: { name }, before, after });
      return after;
    });
  }

  /** The effective settings: the stored ones, else the defaults. */
  async getServing(name: string): Promise<ServingView> {
    const model = await this.findModel(this.db.manager, name);
    const row = await this.db.manager.findOneBy(ModelServingSettingsEntity, { modelId: model.id });
    return row ? servingView(name, row) : defaultServing(name);
  }

  /** Everything the inference runtime needs to route, in one query (see routing-snapshot.ts). */
  async routingSnapshot(): Promise<RoutingSnapshot> {
    return buildRoutingSnapshot((await this.db.query(SNAPSHOT_SQL)) as RoutingRow[]);
  }

  private deploymentView(
    name: string,
    row: Pick<ModelDeploymentEntity, 'routes' | 'updatedBy' | 'updatedAt'>,
    aliases: Map<string, VersionRef>,
    shadow: number | null,
  ): DeploymentView {
    return {
      model: name,
      routes: row.routes.map((r) =>
        'alias' in r
          ? { alias: r.alias, version: aliases.get(r.alias)?.version ?? null, weight: r.weight }
          : { version: r.version, weight: r.weight },
      ),
      shadow: shadow === null ? null : { version: shadow },
      updatedBy: row.updatedBy,
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  private async aliasesOf(m: EntityManager, modelId: string): Promise<Map<string, VersionRef>> {
    const rows: Array<{ alias: string; version: number; id: string }> = await m.query(
      `SELECT a.alias, v.version, v.id FROM model_aliases a JOIN model_versions v ON v.id = a.model_version_id WHERE a.model_id = $1`,
      [modelId],
    );
    return new Map(rows.map((r) => [r.alias, { version: Number(r.version), versionId: r.id }]));
  }

  private async versionNumber(m: EntityManager, versionId: string | null): Promise<number | null> {
    return versionId ? (await m.findOneByOrFail(ModelVersionEntity, { id: versionId })).version : null;
  }

  private async findModel(m: EntityManager, name: string): Promise<ModelEntity> {
    const model = MODEL_NAME_PATTERN.test(name) ? await m.findOneBy(ModelEntity, { name }) : null;
    if (!model) throw new NotFoundException(`model ${name} not found`);
    return model;
  }

  private async lockModel(m: EntityManager, name: string): Promise<ModelEntity> {
    const model = MODEL_NAME_PATTERN.test(name)
      ? await m.findOne(ModelEntity, { where: { name }, lock: { mode: 'pessimistic_write' } })
      : null;
    if (!model) throw new NotFoundException(`model ${name} not found`);
    return model;
  }
}

function servingView(name: string, row: ServingSettings & { updatedBy: string | null; updatedAt: Date }): ServingView {
  return {
    model: name,
    engine: row.engine,
    maxBatchSize: row.maxBatchSize,
    maxQueueDelayMs: row.maxQueueDelayMs,
    maxQueueSize: row.maxQueueSize,
    timeoutMs: row.timeoutMs,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt.toISOString(),
  };
}

function defaultServing(name: string): ServingView {
  return { model: name, ...SERVING_DEFAULTS, updatedBy: null, updatedAt: null };
}
