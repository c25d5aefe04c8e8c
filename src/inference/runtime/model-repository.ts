import { ConflictException, HttpException, InternalServerErrorException, NotFoundException } from '@nestjs/common';
import type { ModelRegistry } from '../../models';
import type { BatchingSettings } from './dynamic-batcher';
import { versionKey, type ModelCache } from './model-cache';
import type { ModelStat, ModelStatistics } from './model-statistics';
import type { Route, RoutingTable } from './routing-table';

/** One row of the model repository index (Triton's `$repository_index_response` entry). */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state: 'READY' | 'LOADING' | 'UNAVAILABLE';
  reason: string;
}

/**
 * The Open Inference Protocol's model repository and statistics extensions, mapped onto Kiln:
 *
 *  - the **repository** is the model registry: every active version of every model is listed; a
 *    version is READY when this process has it loaded and warm, LOADING while it loads, else UNAVAILABLE;
 *  - **load** makes a model servable without a version in the URL, as Triton's load does: a model an
 *    alias or a deployment routes is already loaded (its routed versions are loaded and warmed again if
 *    needed); any other model gets its newest active version loaded, held in the cache (never evicted)
 *    and used as its default route until it is unloaded or the model gets an alias or a deployment;
 *  - **unload** drops every version of the model this process holds or loaded on demand. Versions an
 *    alias or a deployment routes are refused (409): every replica must keep serving them, so unloading
 *    them is done by moving the alias or the deployment in the registry;
 *  - **statistics** are this process's counters (ModelStatistics), like Triton's per-server counters.
 *
 * Load and unload act on this process only (Triton's model control is per server too): behind a load
 * balancer with several inference replicas, load each replica or, better, give the model an alias.
 */
export class ModelRepository {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly cache: ModelCache,
    private readonly routing: RoutingTable,
    private readonly stats: ModelStatistics,
    /** Applies the registry's newest routing snapshot (so a just-set alias counts). */
    private readonly refresh: () => Promise<void>,
  ) {}

  async index(readyOnly: boolean): Promise<RepositoryIndexEntry[]> {
    const failures = new Map(this.routing.loadFailures.map((f) => [f.key, f.error]));
    const entries: RepositoryIndexEntry[] = [];
    for (const model of await this.registry.list()) {
      const versions = (await this.registry.listVersions(model.id)).filter((v) => v.status === 'active').map((v) => v.version);
      if (versions.length === 0 && !readyOnly) entries.push({ name: model.name, state: 'UNAVAILABLE', reason: 'no active version' });
      for (const version of versions.sort((a, b) => a - b)) {
        const key = versionKey(model.name, version);
        const state = this.cache.isLoaded(key) ? 'READY' : this.cache.isLoading(key) ? 'LOADING' : 'UNAVAILABLE';
        if (readyOnly && state !== 'READY') continue;
        const reason = state === 'UNAVAILABLE' ? (failures.get(key) ?? 'unloaded') : '';
        entries.push({ name: model.name, version: String(version), state, reason });
      }
    }
    return entries;
  }

  /** Loads the model (see the class comment); resolves once the versions that answer it are loaded and warm. */
  async load(name: string): Promise<{ versions: number[] }> {
    const model = await this.registry.getModel(name).catch((e: unknown) => {
      throw e instanceof NotFoundException ? new NotFoundException(`failed to load '${name}': no model of that name`) : e;
    });
    await this.refresh();
    const routed = this.routing.referencedVersions(name);
    const wanted = routed.length > 0 ? routed : await this.newestActive(model.id, name);
    for (const key of this.cache.heldKeys()) {
      if (keyModel(key) === name && !wanted.some((v) => versionKey(name, v) === key)) this.cache.unload(key);
    }
    await Promise.all(
      wanted.map(async (version) => {
        try {
          await (routed.length > 0 ? this.cache.ensure(name, version) : this.cache.hold(name, version));
        } catch (e) {
          const reason = e instanceof Error ? e.message : String(e);
          if (e instanceof HttpException && e.getStatus() < 500) throw new ConflictException(`failed to load '${name}': ${reason}`);
          throw new InternalServerErrorException(`failed to load '${name}' version ${version}: ${reason}`);
        }
      }),
    );
    return { versions: wanted };
  }

  /** Unloads what this process holds of the model (see the class comment). */
  async unload(name: string): Promise<{ versions: number[] }> {
    await this.registry.getModel(name).catch((e: unknown) => {
      throw e instanceof NotFoundException ? new NotFoundException(`failed to unload '${name}': no model of that name`) : e;
    });
    await this.refresh();
    const routed = this.routing.referencedVersions(name);
    if (routed.length > 0) {
      throw new ConflictException(
        `failed to unload '${name}': version${routed.length > 1 ? 's' : ''} ${routed.join(', ')} ` +
          `${routed.length > 1 ? 'are' : 'is'} routed by its aliases or deployment; every replica keeps those loaded. ` +
          `Move or delete the alias or deployment in the registry (/api/models/${name}) instead`,
      );
    }
    const keys = this.cache.keys().filter((k) => keyModel(k) === name);
    for (const key of keys) this.cache.unload(key);
    return { versions: keys.map(keyVersion).sort((a, b) => a - b) };
  }

  /** True when the registry has a model of that name. */
  async exists(name: string): Promise<boolean> {
    return this.registry.getModel(name).then(
      () => true,
      (e: unknown) => {
        if (e instanceof NotFoundException) return false;
        throw e;
      },
    );
  }

  /** The default route of a model loaded through `load` (its held version), when it has no alias or deployment. */
  heldRoute(name: string): Route | undefined {
    const held = this.cache
      .heldKeys()
      .filter((k) => keyModel(k) === name)
      .map(keyVersion);
    return held.length > 0 ? { version: Math.max(...held), canary: false } : undefined;
  }

  /** The batching settings the model's versions run with (the registry's serving settings, as last polled). */
  servingSettings(name: string): BatchingSettings {
    return this.routing.serving(name);
  }

  /**
   * Triton's statistics: of one version, of every version of a model that has run or is loaded here,
   * or of every such version of every model. An unknown model or version is 404.
   */
  async statistics(name?: string, version?: number): Promise<ModelStat[]> {
    if (name !== undefined) {
      if (version !== undefined) {
        await this.registry.getVersion(name, version);
        return [this.stats.stat(name, version)];
      }
      await this.registry.getModel(name);
    }
    const pairs = new Map<string, [string, number]>();
    for (const [n, v] of this.stats.versions(name)) pairs.set(versionKey(n, v), [n, v]);
    for (const key of this.cache.keys()) {
      if (name === undefined || keyModel(key) === name) pairs.set(key, [keyModel(key), keyVersion(key)]);
    }
    return [...pairs.values()].sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1)).map(([n, v]) => this.stats.stat(n, v));
  }

  private async newestActive(modelId: string, name: string): Promise<number[]> {
    const newest = (await this.registry.listVersions(modelId))
      .filter((v) => v.status === 'active')
      .sort((a, b) => b.version - a.version)[0];
    if (!newest) throw new ConflictException(`failed to load '${name}': the model has no active version`);
    return [newest.version];
  }
}

const keyModel = (key: string): string => key.slice(0, key.lastIndexOf('@'));
const keyVersion = (key: string): number => Number(key.slice(key.lastIndexOf('@') + 1));
