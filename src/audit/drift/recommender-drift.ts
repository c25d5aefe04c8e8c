/**
 * Drift of a recommender version (template `recommender`), pure: the live traffic of /recommend (who
 * asks, and which items are served) against the training data's popularity, in the same report
 * shape as other models' drift (`compareToReference` on a profile built from the version's index).
 *
 *  - input feature `<user column>`: requests per user vs training interactions per user, over the
 *    TOP_BUCKETS most active training users and one "other" bucket (rarer users and users the model
 *    never saw). Its verdict is the report's dataset-level verdict.
 *  - output (`prediction`): items served vs training interactions per item, over the TOP_BUCKETS most
 *    popular training items and "other". Reported beside, not counted in the verdict (as other
 *    models' predictions): a personalised model serves beyond the popular items by design.
 *  - the share of requests from unknown users (answered with the popularity fallback).
 */
import type { CategoricalColumnProfile, DatasetProfile } from '../../contracts/dataset-profile';
import type { LoggedPrediction } from './drift-window';

/** Users (items) with their own bucket; the rest share "other". */
export const TOP_BUCKETS = 20;

/** What the drift check needs of a recommender index (src/ml/recommender RecommenderIndex). */
export interface RecommenderPopularity {
  users: string[];
  items: string[];
  /** Training-split interactions per user / item (index order). */
  userCounts: number[];
  itemCounts: number[];
}

export interface RecommendWindow {
  /** One user id per request. */
  users: string[];
  /** Every item served, list after list. */
  items: string[];
  /** Requests answered with the popularity fallback (unknown users). */
  unknownUsers: number;
  requests: number;
  hashedRequests: number;
  from: Date | null;
  to: Date | null;
}

function categorical(ids: readonly string[], counts: readonly number[], top: number): CategoricalColumnProfile {
  const order = counts.map((_, i) => i).sort((a, b) => counts[b]! - counts[a]! || a - b);
  const frequencies: Record<string, number> = {};
  let total = 0;
  let other = 0;
  order.forEach((i, rank) => {
    const c = counts[i]!;
    total += c;
    if (rank < top && c > 0) frequencies[ids[i]!] = c;
    else other += c;
  });
  return {
    kind: 'categorical',
    count: total,
    missing: 0,
    distinct: ids.length,
    top: order.slice(0, Math.min(top, 20)).map((i) => ({ value: ids[i]!, count: counts[i]! })),
    frequencies,
    otherCount: other,
    sample: [],
  };
}

/** The reference profile: the user and item columns as categorical columns of the training interactions. */
export function recommenderProfile(
  index: RecommenderPopularity,
  columns: { user: string; item: string },
  top = TOP_BUCKETS,
): DatasetProfile {
  const rowCount = index.itemCounts.reduce((s, c) => s + c, 0);
  return {
    rowCount,
    columns: {
      [columns.user]: categorical(index.users, index.userCounts, top),
      [columns.item]: categorical(index.items, index.itemCounts, top),
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const idOf = (v: unknown): string | null => (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) ? String(v) : null);

/**
 * The newest `maxRequests` logged /recommend calls (`logged` newest first; inputs = the request body,
 * outputs = `{items: [{item, score}], fallback?}`). Calls without a `user` (similar-items) are skipped.
 */
export function buildRecommendWindow(logged: readonly LoggedPrediction[], maxRequests: number): RecommendWindow {
  const w: RecommendWindow = { users: [], items: [], unknownUsers: 0, requests: 0, hashedRequests: 0, from: null, to: null };
  for (const call of logged) {
    if (w.requests >= maxRequests) break;
    if (call.inputs === null || call.inputs === undefined) {
      w.hashedRequests++;
      continue;
    }
    if (!isRecord(call.inputs)) continue;
    const user = idOf(call.inputs['user']);
    if (user === null) continue;
    w.users.push(user);
    const out = isRecord(call.outputs) ? call.outputs : {};
    if (out['fallback'] === 'popularity') w.unknownUsers++;
    if (Array.isArray(out['items'])) {
      for (const x of out['items']) {
        const item = isRecord(x) ? idOf(x['item']) : null;
        if (item !== null) w.items.push(item);
      }
    }
    w.requests++;
    w.to ??= call.servedAt;
    w.from = call.servedAt;
  }
  return w;
}
