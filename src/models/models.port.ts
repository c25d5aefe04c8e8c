import { Injectable } from '@nestjs/common';
import type { AdminActor } from '../platform/audit-trail/admin-event-outbox';
import type { PortOf } from '../platform/rpc/port';
import type { DeploymentInput, ServingSettings } from './deployment-rules';
import { ModelDeployments, type DeploymentView, type ServingView } from './deployments.service';
import { ModelRegistry, type NewImportedVersion } from './model-registry.service';
import { aliasHistoryDto, modelDto, modelVersionDto, type ModelDto } from './models.dto';

/** A model version as the API shows it. */
export type ModelVersionView = ReturnType<typeof modelVersionDto>;
/** An alias change as PUT/DELETE …/aliases/{alias} answer it. */
export interface AliasChangeView {
  model: string;
  alias: string;
  from: number | null;
  to: number | null;
  version?: number | null;
}

/**
 * The model-registry use cases the gateway serves (DI token; patterns `RpcPatterns.models`): the local
 * `LocalModels` where the registry's role runs (training, or one process), else the training app over
 * KILN_TRANSPORT. An import crosses it as artifact references only: the gateway checks the files
 * (worker thread), stores them in the shared artifact store and passes their SHA-256 (`importVersion`).
 */
export abstract class ModelsPort implements PortOf<'models'> {
  abstract list(): Promise<ModelDto[]>;
  abstract get(name: string): Promise<ModelDto>;
  abstract listVersions(name: string): Promise<ModelVersionView[]>;
  abstract getVersion(name: string, version: number): Promise<ModelVersionView>;
  abstract importVersion(version: NewImportedVersion, actor: AdminActor): Promise<ModelVersionView>;
  abstract archive(name: string, version: number, by: string | null, actor: AdminActor): Promise<ModelVersionView>;
  abstract setAlias(name: string, alias: string, version: number, by: string | null, actor: AdminActor): Promise<AliasChangeView>;
  abstract deleteAlias(name: string, alias: string, by: string | null, actor: AdminActor): Promise<AliasChangeView>;
  abstract aliasHistory(name: string, alias: string): Promise<Array<ReturnType<typeof aliasHistoryDto>>>;
  abstract getDeployment(name: string): Promise<DeploymentView>;
  abstract setDeployment(name: string, input: DeploymentInput, by: string | null, actor: AdminActor): Promise<DeploymentView>;
  abstract deleteDeployment(name: string, actor: AdminActor): Promise<DeploymentView>;
  abstract getServing(name: string): Promise<ServingView>;
  abstract setServing(name: string, input: Partial<ServingSettings>, by: string | null, actor: AdminActor): Promise<ServingView>;
}

/** `ModelsPort` on the local registry and deployments. */
@Injectable()
export class LocalModels extends ModelsPort {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly deployments: ModelDeployments,
  ) {
    super();
  }

  async list(): Promise<ModelDto[]> {
    const models = await this.registry.list();
    return Promise.all(models.map(async (m) => modelDto(m, await this.registry.aliasesOf(m.id))));
  }

  async get(name: string): Promise<ModelDto> {
    const m = await this.registry.getModel(name);
    return modelDto(m, await this.registry.aliasesOf(m.id));
  }

  async listVersions(name: string): Promise<ModelVersionView[]> {
    const m = await this.registry.getModel(name);
    const aliases = await this.registry.aliasesOf(m.id);
    return (await this.registry.listVersions(m.id)).map((v) => modelVersionDto(m, v, aliases));
  }

  async getVersion(name: string, version: number): Promise<ModelVersionView> {
    const { model, version: v } = await this.registry.getVersion(name, version);
    return modelVersionDto(model, v, await this.registry.aliasesOf(model.id));
  }

  async importVersion(version: NewImportedVersion, actor: AdminActor): Promise<ModelVersionView> {
    const { model, version: v } = await this.registry.registerImportedVersion(version, actor);
    return modelVersionDto(model, v, await this.registry.aliasesOf(model.id));
  }

  async archive(name: string, version: number, by: string | null, actor: AdminActor): Promise<ModelVersionView> {
    const { model, version: v } = await this.registry.archive(name, version, by, actor);
    return modelVersionDto(model, v, await this.registry.aliasesOf(model.id));
  }

  async setAlias(name: string, alias: string, version: number, by: string | null, actor: AdminActor): Promise<AliasChangeView> {
    const change = await this.registry.setAlias(name, alias, version, by, actor);
    return { model: name, ...change, version: change.to };
  }

  async deleteAlias(name: string, alias: string, by: string | null, actor: AdminActor): Promise<AliasChangeView> {
    const change = await this.registry.deleteAlias(name, alias, by, actor);
    return { model: name, ...change };
  }

  async aliasHistory(name: string, alias: string): Promise<Array<ReturnType<typeof aliasHistoryDto>>> {
    return (await this.registry.aliasHistory(name, alias)).map((h) => aliasHistoryDto(name, h));
  }

  getDeployment(name: string): Promise<DeploymentView> {
    return this.deployments.getDeployment(name);
  }

  setDeployment(name: string, input: DeploymentInput, by: string | null, actor: AdminActor): Promise<DeploymentView> {
    return this.deployments.setDeployment(name, input, by, actor);
  }

  deleteDeployment(name: string, actor: AdminActor): Promise<DeploymentView> {
    return this.deployments.deleteDeployment(name, actor);
  }

  getServing(name: string): Promise<ServingView> {
    return this.deployments.getServing(name);
  }

  setServing(name: string, input: Partial<ServingSettings>, by: string | null, actor: AdminActor): Promise<ServingView> {
    return this.deployments.setServing(name, input, by, actor);
  }
}
