import { deriveSeed, mulberry32, shuffleInPlace } from '../random';
import { TrainingSpecError, type CellValue, type Table } from '../types';
import type { InteractionColumns } from './recommender-spec';

/** Interactions with dense user and item indices (ids kept as strings: `String(value)`). */
export interface Interactions {
  users: string[];
  items: string[];
  user: Int32Array;
  item: Int32Array;
  /** Explicit feedback only. */
  rating: Float32Array | null;
  /** Epoch ms; null without a timestamp column. */
  time: Float64Array | null;
  /** Rows left out: a missing user, item, rating or timestamp. */
  droppedRows: number;
  /** Repeated (user, item) pairs merged into their latest interaction. */
  duplicates: number;
}

function timeOf(v: CellValue): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

const idOf = (v: CellValue): string | null => (v === null || v === undefined || typeof v === 'boolean' ? null : String(v));

/**
 * Reads the interaction table into dense indices. A (user, item) pair seen more than once keeps its
 * latest interaction (by timestamp, else by row order), so an implicit log of repeated purchases is one
 * positive and a re-rating replaces the old rating.
 */
export function readInteractions(table: Table, columns: InteractionColumns): Interactions {
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const users: string[] = [];
  const items: string[] = [];
  const pairs = new Map<string, number>(); // "u,i" → interaction slot
  const u: number[] = [];
  const it: number[] = [];
  const r: number[] = [];
  const t: number[] = [];
  let droppedRows = 0;
  let duplicates = 0;
  for (const row of table.rows) {
    const uid = idOf(row[columns.user] ?? null);
    const iid = idOf(row[columns.item] ?? null);
    const rating = columns.rating !== undefined ? row[columns.rating] : 0;
    const time = columns.timestamp !== undefined ? timeOf(row[columns.timestamp] ?? null) : 0;
    if (uid === null || iid === null || typeof rating !== 'number' || !Number.isFinite(rating) || time === null) {
      droppedRows += 1;
      continue;
    }
    let ui = userIndex.get(uid);
    if (ui === undefined) userIndex.set(uid, (ui = users.push(uid) - 1));
    let ii = itemIndex.get(iid);
    if (ii === undefined) itemIndex.set(iid, (ii = items.push(iid) - 1));
    const key = `${ui},${ii}`;
    const slot = pairs.get(key);
    if (slot !== undefined) {
      duplicates += 1;
      if (time >= t[slot]) {
        r[slot] = rating;
        t[slot] = time;
      }
      continue;
    }
    pairs.set(key, u.length);
    u.push(ui);
    it.push(ii);
    r.push(rating);
    t.push(time);
  }
  if (u.length === 0)
    throw new TrainingSpecError('columns', 'the dataset has no interaction with a user, an item (and a rating/timestamp when named)');
  if (items.length < 2) throw new TrainingSpecError('columns.item', 'the dataset has fewer than 2 distinct items: nothing to rank');
  return {
    users,
    items,
    user: Int32Array.from(u),
    item: Int32Array.from(it),
    rating: columns.rating !== undefined ? Float32Array.from(r) : null,
    time: columns.timestamp !== undefined ? Float64Array.from(t) : null,
    droppedRows,
    duplicates,
  };
}

/** Interaction indices (into Interactions arrays) of each split. */
export interface InteractionSplit {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
  /** Users with at least one held-out (test) interaction. */
  evaluatedUsers: number;
  /** 'time': each user's newest interactions held out; 'random': a seeded per-user holdout. */
  by: 'time' | 'random';
}

/**
 * Per-user holdout: each user with at least 2 interactions gives max(1, round(n·test)) to test and,
 * with at least 3, max(1, round(n·validation)) to validation, always keeping one for training. With
 * a timestamp the newest go to test, the next newest to validation (ties by row order); without, a
 * seeded shuffle per user decides. Users with a single interaction only train.
 */
export function splitInteractions(x: Interactions, fractions: { validation: number; test: number }, seed: number): InteractionSplit {
  const byUser: number[][] = x.users.map(() => []);
  for (let k = 0; k < x.user.length; k++) byUser[x.user[k]].push(k);
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  let evaluatedUsers = 0;
  byUser.forEach((list, ui) => {
    const n = list.length;
    if (x.time) {
      const time = x.time;
      list.sort((a, b) => time[b] - time[a] || b - a); // newest first
    } else {
      shuffleInPlace(list, mulberry32(deriveSeed(seed, 0x5e11, ui)));
    }
    if (n < 2) {
      train.push(...list);
      return;
    }
    const nTest = Math.min(n - 1, Math.max(1, Math.round(n * fractions.test)));
    const rest = n - nTest;
    const nVal = rest >= 2 ? Math.min(rest - 1, Math.max(1, Math.round(n * fractions.validation))) : 0;
    test.push(...list.slice(0, nTest));
    validation.push(...list.slice(nTest, nTest + nVal));
    train.push(...list.slice(nTest + nVal));
    evaluatedUsers += 1;
  });
  if (evaluatedUsers === 0) {
    throw new TrainingSpecError(
      'columns.user',
      'every user has fewer than 2 interactions: the per-user holdout needs users with at least 2 (one to train on, one to test)',
    );
  }
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { train: sorted(train), validation: sorted(validation), test: sorted(test), evaluatedUsers, by: x.time ? 'time' : 'random' };
}

/** Compressed per-user item lists (CSR) of the given interactions: items of user u are items[offsets[u] .. offsets[u+1]). */
export interface UserItems {
  offsets: Int32Array;
  items: Int32Array;
}

export function userItems(x: Interactions, which: ArrayLike<number>): UserItems {
  const nUsers = x.users.length;
  const counts = new Int32Array(nUsers + 1);
  for (let k = 0; k < which.length; k++) counts[x.user[which[k]] + 1] += 1;
  for (let i = 0; i < nUsers; i++) counts[i + 1] += counts[i];
  const fill = counts.slice(0, nUsers);
  const items = new Int32Array(which.length);
  for (let k = 0; k < which.length; k++) {
    const idx = which[k];
    items[fill[x.user[idx]]++] = x.item[idx];
  }
  for (let i = 0; i < nUsers; i++) items.subarray(counts[i], counts[i + 1]).sort();
  return { offsets: counts, items };
}

/** Interactions per item in `which` (the popularity of the training split). */
export function itemCounts(x: Interactions, which: ArrayLike<number>): Float64Array {
  const counts = new Float64Array(x.items.length);
  for (let k = 0; k < which.length; k++) counts[x.item[which[k]]] += 1;
  return counts;
}
