/**
 * The read model the inference runtime polls (every replica, about every 500 ms): for each model
 * with an alias, a deployment or serving settings, everything needed to route a request, plus a
 * fingerprint of that content so a poller can skip work when nothing changed.
 */
import { createHash } from 'node:crypto';
import { SERVING_DEFAULTS, type ServingSettings } from './deployment-rules';
import type { StoredRoute } from './model-deployment.entity';

export interface VersionRef {
  version: number;
  /** model_versions.id */
  versionId: string;
}

/**
 * One deployment route. Version routes carry their fixed version; alias routes carry `alias` and the
 * version the alias points at now (both null once the alias was deleted: such a route gets no traffic).
 */
export interface RoutingRoute {
  alias?: string;
  version: number | null;
  versionId: string | null;
  /** Share of the traffic: the weights of the routes that resolve to a version sum to 1; 0 for one that does not. */
  weight: number;
}

export interface ModelRouting {
  name: string;
  modelId: string;
  aliases: Record<string, VersionRef>;
  /**
   * null: no deployment (the runtime falls back to the `production` alias). Route order is as stored: the first is the
   * primary, others are canaries.
   */
  deployment: { routes: RoutingRoute[]; shadow: VersionRef | null } | null;
  /** Effective settings (the defaults when none are stored). */
  serving: ServingSettings;
}

export interface RoutingSnapshot {
  /** Changes exactly when `models` changes (a hash of the content, not of timestamps). */
  fingerprint: string;
  /** Sorted by name. */
  models: ModelRouting[];
}

/** One row of the snapshot query (see ModelDeployments.routingSnapshot). */
export interface RoutingRow {
  model_id: string;
  name: string;
  aliases: Record<string, VersionRef>;
  routes: StoredRoute[] | null;
  shadow_version: number | null;
  shadow_version_id: string | null;
  max_batch_size: number | null;
  max_queue_delay_ms: number | null;
  max_queue_size: number | null;
  timeout_ms: number | null;
  engine: ServingSettings['engine'] | null;
}

/** Resolves alias routes against the model's aliases and normalises the weights of the routes that resolve. */
export function resolveRoutes(routes: StoredRoute[], aliases: Record<string, VersionRef>): RoutingRoute[] {
  const resolved = routes.map((r) => {
    if ('alias' in r) {
      const target = Object.hasOwn(aliases, r.alias) ? aliases[r.alias]! : null;
      return { alias: r.alias, version: target?.version ?? null, versionId: target?.versionId ?? null, weight: r.weight };
    }
    return { version: r.version, versionId: r.versionId, weight: r.weight };
  });
  const total = resolved.reduce((sum, r) => sum + (r.versionId ? r.weight : 0), 0);
  return resolved.map((r) => ({ ...r, weight: r.versionId && total > 0 ? r.weight / total : 0 }));
}

export function buildRoutingSnapshot(rows: RoutingRow[]): RoutingSnapshot {
  const models: ModelRouting[] = rows.map((row) => ({
    name: row.name,
    modelId: row.model_id,
    aliases: row.aliases,
    deployment: row.routes
      ? {
          routes: resolveRoutes(row.routes, row.aliases),
          shadow: row.shadow_version_id ? { version: Number(row.shadow_version), versionId: row.shadow_version_id } : null,
        }
      : null,
    serving:
      row.max_batch_size === null
        ? { ...SERVING_DEFAULTS }
        : {
            maxBatchSize: row.max_batch_size,
            maxQueueDelayMs: row.max_queue_delay_ms!,
            maxQueueSize: row.max_queue_size!,
            timeoutMs: row.timeout_ms!,
            engine: row.engine ?? SERVING_DEFAULTS.engine,
          },
  }));
  return { fingerprint: createHash('sha256').update(JSON.stringify(models)).digest('hex'), models };
}
