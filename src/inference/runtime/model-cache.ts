import { LoadedModel } from './loaded-model';

/**
 * The model's serving engine setting: `tfjs`, `onnxruntime` or `auto` (the loader decides what a
 * version can run on). Part of the cache key, so switching engines loads the other engine's copy
 * beside the current one and the routing table swaps once it is warm.
 */
export type EnginePreference = 'tfjs' | 'onnxruntime' | 'auto';

/** Loads one version (by model name and version number) from the registry and the artifact store. */
export type ModelLoader = (name: string, version: number, engine: EnginePreference) => Promise<LoadedModel>;

export interface CacheLimits {
  /** Loaded versions at most (pinned ones count but are never evicted). */
  maxModels: number;
  /** Bytes of weights at most (same rule). */
  maxBytes: number;
}

interface Entry {
  key: string;
  promise: Promise<LoadedModel>;
  model: LoadedModel | null;
  lastUsed: number;
}

export const versionKey = (name: string, version: number, engine: EnginePreference = 'tfjs'): string =>
  engine === 'tfjs' ? `${name}@${version}` : `${name}@${version}#${engine}`;

/** The model name and version number of a cache key (model names never contain '@' or '#'). */
export function parseVersionKey(key: string): { name: string; version: number; engine: EnginePreference } {
  const m = /^(.*)@(\d+)(?:#(onnxruntime|auto))?$/.exec(key);
  if (!m) throw new Error(`not a version key: ${key}`);
  return { name: m[1]!, version: Number(m[2]), engine: (m[3] as EnginePreference | undefined) ?? 'tfjs' };
}

/**
 * Every loaded model version of this process, keyed `name@version`. Loads are coalesced (concurrent
 * requests for one version share one load and warm-up). Versions an alias or a deployment references
 * are pinned, versions loaded through the model repository API are held (`hold`, `unload`); the others
 * are evicted least-recently-used past the model-count or weight-bytes bound.
 * An evicted or unpinned model is unloaded only after its in-flight requests release it.
 */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private pinned = new Set<string>();
  /** Versions loaded on request through the model repository API: kept like pinned ones until released. */
  private readonly held = new Set<string>();

  constructor(
    private readonly loader: ModelLoader,
    private readonly limits: CacheLimits,
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Loads (if needed) and warms a version; resolves once it can serve. Failed loads are not cached. */
  ensure(name: string, version: number, engine: EnginePreference = 'tfjs'): Promise<LoadedModel> {
    const key = versionKey(name, version, engine);
    const existing = this.entries.get(key);
    if (existing) {
      existing.lastUsed = performance.now();
      return existing.promise;
    }
    const entry: Entry = { key, model: null, lastUsed: performance.now(), promise: null as never };
    entry.promise = this.loader(name, version, engine).then(
      (model) => {
        if (this.entries.get(key) !== entry) {
          // Unpinned or evicted while loading: nobody holds it.
          model.unload();
          return model;
        }
        entry.model = model;
        this.evict();
        this.onChange();
        return model;
      },
      (e: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw e;
      },
    );
    this.entries.set(key, entry);
    return entry.promise;
  }

  /**
   * A loaded version, acquired for one request (call `release` when done), loading it first when
   * needed. The acquire happens synchronously after the load resolves, so eviction cannot slip between.
   */
  async acquire(name: string, version: number, engine: EnginePreference = 'tfjs'): Promise<LoadedModel> {
    for (;;) {
      const model = await this.ensure(name, version, engine);
      if (!model.unloaded) {
        model.acquire();
        return model;
      }
    }
  }

  /** Acquires a loaded version without waiting, or null when it is not loaded. */
  acquireLoaded(key: string): LoadedModel | null {
    const entry = this.entries.get(key);
    if (!entry?.model || entry.model.unloaded) return null;
    entry.lastUsed = performance.now();
    entry.model.acquire();
    return entry.model;
  }

  isLoaded(key: string): boolean {
    return !!this.entries.get(key)?.model;
  }

  isLoading(key: string): boolean {
    const e = this.entries.get(key);
    return !!e && !e.model;
  }

  /** Replaces the pinned set; versions no longer pinned are unloaded (after their in-flight requests). */
  pin(keys: Set<string>): void {
    const previous = this.pinned;
    this.pinned = new Set(keys);
    for (const key of previous) {
      if (keys.has(key) || this.held.has(key)) continue;
      const entry = this.entries.get(key);
      if (!entry) continue;
      this.entries.delete(key);
      entry.model?.unload();
    }
    this.onChange();
  }

  /** Loads (if needed) and keeps a version loaded until `unload`, whatever the pinned set becomes. */
  hold(name: string, version: number): Promise<LoadedModel> {
    const key = versionKey(name, version);
    this.held.add(key);
    return this.ensure(name, version).catch((e: unknown) => {
      this.held.delete(key);
      throw e;
    });
  }

  /** Stops holding a version and unloads it (after its in-flight requests) unless it is pinned. */
  unload(key: string): void {
    this.held.delete(key);
    if (this.pinned.has(key)) return;
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.model?.unload();
    this.onChange();
  }

  /** Keys of held versions. */
  heldKeys(): string[] {
    return [...this.held];
  }

  /** Keys of every loaded or loading version. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Loaded models (for batching settings and metrics). */
  loaded(): LoadedModel[] {
    return [...this.entries.values()].flatMap((e) => (e.model ? [e.model] : []));
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.loaded().reduce((s, m) => s + m.weightBytes, 0);
  }

  /** Unloads everything (shutdown). */
  clear(): void {
    for (const e of this.entries.values()) e.model?.unload();
    this.entries.clear();
    this.pinned.clear();
    this.held.clear();
  }

  private evict(): void {
    const candidates = [...this.entries.values()]
      .filter((e) => e.model && !this.pinned.has(e.key) && !this.held.has(e.key))
      .sort((a, b) => a.lastUsed - b.lastUsed);
    while (candidates.length > 0 && (this.entries.size > this.limits.maxModels || this.bytes > this.limits.maxBytes)) {
      const victim = candidates.shift()!;
      this.entries.delete(victim.key);
      victim.model!.unload();
    }
  }
}
