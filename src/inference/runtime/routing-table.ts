import { createHash } from 'node:crypto';
import { DEFAULT_BATCHING, type BatchingSettings } from './dynamic-batcher';
import { ModelCache, versionKey, type EnginePreference } from './model-cache';

/**
 * Which loaded version answers which request, for every model that has an alias or a deployment.
 *
 * The registry's routing snapshot (aliases, deployments, serving settings) is polled by every
 * replica; `apply` loads and warms every version the new snapshot references BEFORE it swaps the
 * table, so a moved alias keeps answering from the old version until the new one is warm (zero
 * downtime). Versions no longer referenced are unpinned and unload after their in-flight requests.
 */
export interface RoutedVersion {
  version: number;
}

/** A deployment route as the registry resolved it (an alias route carries the alias's version; null once the alias is gone). */
export interface DeploymentRoute {
  alias?: string;
  version: number | null;
  weight: number;
}

export interface ModelRouting {
  name: string;
  aliases: Record<string, RoutedVersion>;
  deployment: { routes: DeploymentRoute[]; shadow: RoutedVersion | null } | null;
  /** Batching knobs and the engine setting (absent: tfjs). */
  serving: BatchingSettings & { engine?: EnginePreference };
}

export interface RoutingSnapshot {
  fingerprint: string;
  models: ModelRouting[];
}

interface ActiveModel {
  aliases: Map<string, number>;
  /** Deployment routes resolved to versions, with cumulative normalised weights. */
  routes: Array<{ version: number; upTo: number }> | null;
  shadow: number | null;
  serving: BatchingSettings;
  engine: EnginePreference;
}

export interface Route {
  version: number;
  /** Chosen by a deployment route other than the first. */
  canary: boolean;
}

export type LoadFailure = { key: string; error: string };

export class RoutingTable {
  private active = new Map<string, ActiveModel>();
  private appliedFingerprint: string | null = null;
  private applying: Promise<void> = Promise.resolve();
  private failures: LoadFailure[] = [];
  private snapshotSeen = false;

  constructor(private readonly cache: ModelCache) {}

  /** Loads what `snapshot` references, then swaps the table. Calls are serialised. */
  apply(snapshot: RoutingSnapshot): Promise<void> {
    this.applying = this.applying.then(() => this.applyNow(snapshot));
    return this.applying;
  }

  /** The fingerprint of the last applied snapshot (skip re-applying an unchanged one). */
  get fingerprint(): string | null {
    return this.failures.length > 0 ? null : this.appliedFingerprint;
  }

  /** True once a snapshot was applied and every referenced version loaded. */
  get ready(): boolean {
    return this.snapshotSeen && this.failures.length === 0;
  }

  get loadFailures(): LoadFailure[] {
    return [...this.failures];
  }

  private async applyNow(snapshot: RoutingSnapshot): Promise<void> {
    const wanted = new Map<string, { name: string; version: number; engine: EnginePreference }>();
    for (const m of snapshot.models) {
      const engine = m.serving.engine ?? 'tfjs';
      const want = (version: number) => wanted.set(versionKey(m.name, version, engine), { name: m.name, version, engine });
      for (const v of Object.values(m.aliases)) want(v.version);
      for (const r of m.deployment?.routes ?? []) if (r.version !== null) want(r.version);
      if (m.deployment?.shadow) want(m.deployment.shadow.version);
    }
    const currentKeys = this.referencedKeys();
    // Pin old and new while loading: neither may be evicted mid-swap.
    this.cache.pin(new Set([...currentKeys, ...wanted.keys()]));
    const results = await Promise.allSettled([...wanted.values()].map((w) => this.cache.ensure(w.name, w.version, w.engine)));
    const failed = new Map<string, string>();
    [...wanted.keys()].forEach((key, i) => {
      const r = results[i]!;
      if (r.status === 'rejected') failed.set(key, r.reason instanceof Error ? r.reason.message : String(r.reason));
    });
    const next = new Map<string, ActiveModel>();
    for (const m of snapshot.models) {
      const previous = this.active.get(m.name);
      const engine = m.serving.engine ?? 'tfjs';
      if (previous && previous.engine !== engine && [...failed.keys()].some((k) => wanted.get(k)?.name === m.name)) {
        // The new engine cannot load a version this model routes to: keep its whole previous routing (old engine).
        next.set(m.name, previous);
        continue;
      }
      // A version that failed to load keeps the previous one behind that alias (if any).
      const pick = (version: number | undefined, fallback: number | undefined): number | undefined =>
        version !== undefined && !failed.has(versionKey(m.name, version, engine)) ? version : fallback;
      const aliases = new Map<string, number>();
      for (const [alias, v] of Object.entries(m.aliases)) {
        const chosen = pick(v.version, previous?.aliases.get(alias));
        if (chosen !== undefined) aliases.set(alias, chosen);
      }
      let routes: ActiveModel['routes'] = null;
      if (m.deployment && m.deployment.routes.length > 0) {
        const resolved = m.deployment.routes.flatMap((r) => {
          const v = r.version === null ? undefined : pick(r.version, r.alias !== undefined ? aliases.get(r.alias) : undefined);
          return v !== undefined && r.weight > 0 ? [{ version: v, weight: r.weight }] : [];
        });
        const total = resolved.reduce((s, r) => s + r.weight, 0);
        let acc = 0;
        routes = total > 0 ? resolved.map((r) => ({ version: r.version, upTo: (acc += r.weight / total) })) : null;
      }
      const shadowVersion = m.deployment?.shadow ? pick(m.deployment.shadow.version, undefined) : undefined;
      const { engine: _engine, ...serving } = m.serving;
      next.set(m.name, { aliases, routes, shadow: shadowVersion ?? null, serving, engine });
    }
    this.active = next;
    this.cache.pin(this.referencedKeys());
    this.failures = [...failed].map(([key, error]) => ({ key, error }));
    this.appliedFingerprint = snapshot.fingerprint;
    this.snapshotSeen = true;
  }

  private referencedKeys(): Set<string> {
    const keys = new Set<string>();
    for (const [name, m] of this.active) {
      for (const v of m.aliases.values()) keys.add(versionKey(name, v, m.engine));
      for (const r of m.routes ?? []) keys.add(versionKey(name, r.version, m.engine));
      if (m.shadow !== null) keys.add(versionKey(name, m.shadow, m.engine));
    }
    return keys;
  }

  /** The version behind an alias, or undefined. */
  alias(name: string, alias: string): number | undefined {
    return this.active.get(name)?.aliases.get(alias);
  }

  /**
   * Default route of a model (no version or alias asked): its deployment's weighted routes, chosen
   * by a hash of the client's request id when it gave one (sticky) or at random; else `production`.
   */
  route(name: string, stickyKey: string | null): Route | undefined {
    const m = this.active.get(name);
    if (!m) return undefined;
    if (m.routes && m.routes.length > 0) {
      const u = stickyKey !== null ? unitHash(`${name}\u0000${stickyKey}`) : Math.random();
      const i = m.routes.findIndex((r) => u < r.upTo);
      const idx = i < 0 ? m.routes.length - 1 : i;
      return { version: m.routes[idx]!.version, canary: idx > 0 };
    }
    const production = m.aliases.get('production');
    return production === undefined ? undefined : { version: production, canary: false };
  }

  /** Whether `route` has an answer for this model: a deployment with routes, or a `production` alias. */
  hasDefaultRoute(name: string): boolean {
    const m = this.active.get(name);
    return m !== undefined && ((m.routes?.length ?? 0) > 0 || m.aliases.has('production'));
  }

  shadow(name: string): number | null {
    return this.active.get(name)?.shadow ?? null;
  }

  serving(name: string): BatchingSettings {
    return this.active.get(name)?.serving ?? DEFAULT_BATCHING;
  }

  /** The model's engine setting (tfjs for a model this table does not route). */
  engine(name: string): EnginePreference {
    return this.active.get(name)?.engine ?? 'tfjs';
  }

  /** Versions this model's aliases and deployment reference. */
  referencedVersions(name: string): number[] {
    const m = this.active.get(name);
    if (!m) return [];
    const vs = new Set<number>([...m.aliases.values(), ...(m.routes ?? []).map((r) => r.version)]);
    if (m.shadow !== null) vs.add(m.shadow);
    return [...vs].sort((a, b) => a - b);
  }
}

/** A uniform number in [0, 1) from a string (first 48 bits of its SHA-256). */
export function unitHash(s: string): number {
  const h = createHash('sha256').update(s).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}
