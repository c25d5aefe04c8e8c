/**
 * Import of a recommender trained elsewhere: user and item embeddings (+ biases) with their ids, in
 * one documented JSON document (`kiln.recommender-embeddings.v1`, README "Recommendations"):
 *
 *   {
 *     "format": "kiln.recommender-embeddings.v1",
 *     "users": ["u1", …],            ids (strings or numbers), distinct
 *     "items": [101, …],
 *     "userFactors": [[…d], …],      one row of d numbers per user
 *     "itemFactors": [[…d], …],      one row of d numbers per item
 *     "userBias"?: [...], "itemBias"?: [...], "globalBias"?: 0,
 *     "itemPopularity"?: [...],      interactions per item: the unknown-user fallback (default: item order)
 *     "userActivity"?: [...],        interactions per user (drift's reference)
 *     "seen"?: {"u1": [101, …]},      items each user already has (filterSeen)
 *     "feedback"?: "implicit" | "explicit",
 *     "columns"?: {"user": "user", "item": "item"}   column names batch scoring and drift use
 *   }
 *
 * score(u, i) = globalBias + userBias[u] + itemBias[i] + userFactors[u] · itemFactors[i], served by
 * the same model and index as a trained recommender. Every problem is a TrainingSpecError naming the field.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TrainingSpecError } from '../types';
import { MAX_POPULAR, popularityOrder, recommenderServingModel, type RecommenderIndex } from './matrix-factorization';

export const EMBEDDINGS_FORMAT = 'kiln.recommender-embeddings.v1';
/** Embedding sizes the import accepts (the training template's range). */
export const MAX_IMPORT_EMBEDDING_SIZE = 512;

export interface ImportedRecommender {
  model: tfl.LayersModel;
  index: RecommenderIndex;
  embeddingSize: number;
}

function bad(field: string, reason: string): never {
  throw new TrainingSpecError(field, reason);
}

function ids(v: unknown, field: string): { ids: string[]; type: 'number' | 'string' } {
  if (!Array.isArray(v) || v.length === 0) bad(field, 'must be a non-empty array of ids (strings or numbers)');
  const numbers = v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const out: string[] = [];
  const seen = new Set<string>();
  v.forEach((x, i) => {
    if (!((typeof x === 'string' && x.length > 0 && x.length <= 1000) || (typeof x === 'number' && Number.isFinite(x))))
      bad(`${field}.${i}`, 'must be an id: a non-empty string or a finite number');
    const id = String(x);
    if (seen.has(id)) bad(`${field}.${i}`, `'${id}' appears twice`);
    seen.add(id);
    out.push(id);
  });
  return { ids: out, type: numbers ? 'number' : 'string' };
}

function matrix(v: unknown, field: string, rows: number, d: number | null): { data: Float32Array; d: number } {
  if (!Array.isArray(v) || v.length !== rows) bad(field, `must be an array of ${rows} rows (one per id)`);
  const width = d ?? (Array.isArray(v[0]) ? v[0].length : 0);
  if (!(width >= 1 && width <= MAX_IMPORT_EMBEDDING_SIZE))
    bad(`${field}.0`, `must be an array of 1 to ${MAX_IMPORT_EMBEDDING_SIZE} numbers (the embedding size)`);
  const data = new Float32Array(rows * width);
  v.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== width) bad(`${field}.${r}`, `must be an array of ${width} numbers (the embedding size)`);
    row.forEach((x, c) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) bad(`${field}.${r}.${c}`, 'must be a finite number');
      data[r * width + c] = x;
    });
  });
  return { data, d: width };
}

function vector(v: unknown, field: string, n: number, fallback: number, min = -Infinity): Float32Array {
  if (v === undefined) return new Float32Array(n).fill(fallback);
  if (!Array.isArray(v) || v.length !== n) bad(field, `must be an array of ${n} numbers (one per id)`);
  return Float32Array.from(v, (x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min)
      bad(`${field}.${i}`, min === 0 ? 'must be a finite number ≥ 0' : 'must be a finite number');
    return x;
  });
}

const KNOWN = [
  'format',
  'users',
  'items',
  'userFactors',
  'itemFactors',
  'userBias',
  'itemBias',
  'globalBias',
  'itemPopularity',
  'userActivity',
  'seen',
  'feedback',
  'columns',
];

/** Checks the document and builds the serving model (the caller disposes it) and its index. */
export function importRecommenderEmbeddings(doc: unknown): ImportedRecommender {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    bad('embeddings', `must be a JSON object (format ${EMBEDDINGS_FORMAT})`);
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) bad(k, `is not a field of ${EMBEDDINGS_FORMAT} (${KNOWN.join(', ')})`);
  if (o['format'] !== EMBEDDINGS_FORMAT) bad('format', `must be '${EMBEDDINGS_FORMAT}'`);
  const users = ids(o['users'], 'users');
  const items = ids(o['items'], 'items');
  if (items.ids.length < 2) bad('items', 'needs at least 2 items: nothing to rank');
  const P = matrix(o['userFactors'], 'userFactors', users.ids.length, null);
  const Q = matrix(o['itemFactors'], 'itemFactors', items.ids.length, P.d);
  const bu = vector(o['userBias'], 'userBias', users.ids.length, 0);
  const bi = vector(o['itemBias'], 'itemBias', items.ids.length, 0);
  const mu = o['globalBias'] ?? 0;
  if (typeof mu !== 'number' || !Number.isFinite(mu)) bad('globalBias', 'must be a finite number');
  const itemCounts = vector(o['itemPopularity'], 'itemPopularity', items.ids.length, 0, 0);
  const userCounts = vector(o['userActivity'], 'userActivity', users.ids.length, 0, 0);
  const feedback = o['feedback'] ?? 'implicit';
  if (feedback !== 'implicit' && feedback !== 'explicit') bad('feedback', "must be 'implicit' or 'explicit'");
  const columns = o['columns'] ?? { user: 'user', item: 'item' };
  if (columns === null || typeof columns !== 'object' || Array.isArray(columns)) bad('columns', 'must be an object {user, item}');
  const c = columns as Record<string, unknown>;
  for (const k of Object.keys(c)) if (k !== 'user' && k !== 'item') bad(`columns.${k}`, 'unknown role (user, item)');
  for (const k of ['user', 'item'] as const)
    if (typeof c[k] !== 'string' || (c[k] as string).length === 0 || (c[k] as string).length > 128)
      bad(`columns.${k}`, 'must be a column name (1–128 characters)');
  if (c['user'] === c['item']) bad('columns.item', 'must differ from the user column');

  // seen items, CSR in user order
  const itemIndex = new Map(items.ids.map((id, i) => [id, i]));
  const userIndex = new Map(users.ids.map((id, i) => [id, i]));
  const seenLists: number[][] = users.ids.map(() => []);
  const seen = o['seen'] ?? {};
  if (seen === null || typeof seen !== 'object' || Array.isArray(seen)) bad('seen', 'must be an object {user id: [item ids]}');
  for (const [user, list] of Object.entries(seen as Record<string, unknown>)) {
    const u = userIndex.get(user);
    if (u === undefined) bad(`seen.${user}`, 'is not one of users');
    if (!Array.isArray(list)) bad(`seen.${user}`, 'must be an array of item ids');
    list.forEach((x, j) => {
      const i = typeof x === 'string' || typeof x === 'number' ? itemIndex.get(String(x)) : undefined;
      if (i === undefined) bad(`seen.${user}.${j}`, 'is not one of items');
      seenLists[u].push(i);
    });
  }
  const seenOffsets = [0];
  const seenItems: number[] = [];
  for (const list of seenLists) {
    seenItems.push(...[...new Set(list)].sort((a, b) => a - b));
    seenOffsets.push(seenItems.length);
  }

  const parts = [
    tf.tensor2d(P.data, [users.ids.length, P.d]),
    tf.tensor2d(Q.data, [items.ids.length, P.d]),
    tf.tensor1d(bu),
    tf.tensor1d(bi),
  ] as const;
  let model: tfl.LayersModel;
  try {
    model = recommenderServingModel(parts[0], parts[1], parts[2], parts[3], mu);
  } finally {
    tf.dispose([...parts]);
  }
  const index: RecommenderIndex = {
    format: 'kiln.recommender-index.v1',
    feedback,
    columns: { user: c['user'] as string, item: c['item'] as string },
    userIdType: users.type,
    itemIdType: items.type,
    users: users.ids,
    items: items.ids,
    itemCounts: Array.from(itemCounts),
    userCounts: Array.from(userCounts),
    popular: popularityOrder(itemCounts).slice(0, MAX_POPULAR),
    seenOffsets,
    seenItems,
  };
  return { model, index, embeddingSize: P.d };
}
