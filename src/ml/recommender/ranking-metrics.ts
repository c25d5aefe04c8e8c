/**
 * Top-K ranking: a partial sort (bounded min-heap) and the ranking metrics stored with a recommender
 * version. Hand-written: a few loops over typed arrays; no maintained npm package computes
 * precision/recall/NDCG/MAP@K on typed score arrays without pulling in a dataframe library.
 */

/**
 * Indices of the `k` largest finite scores, best first (ties: lower index first). Entries equal to
 * -Infinity (masked) are never returned, so fewer than `k` come back when fewer remain.
 */
export function topKIndices(scores: ArrayLike<number>, k: number): number[] {
  const heapIdx: number[] = [];
  const heapVal: number[] = [];
  // min-heap on (value, -index): the root is the worst kept entry
  const worse = (a: number, b: number): boolean => heapVal[a] < heapVal[b] || (heapVal[a] === heapVal[b] && heapIdx[a] > heapIdx[b]);
  const swap = (a: number, b: number): void => {
    [heapIdx[a], heapIdx[b]] = [heapIdx[b], heapIdx[a]];
    [heapVal[a], heapVal[b]] = [heapVal[b], heapVal[a]];
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heapIdx.length && worse(l, m)) m = l;
      if (r < heapIdx.length && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  const n = scores.length;
  for (let i = 0; i < n; i++) {
    const v = scores[i];
    if (!(v > -Infinity)) continue; // -Infinity and NaN are never recommended
    if (heapIdx.length < k) {
      heapIdx.push(i);
      heapVal.push(v);
      let c = heapIdx.length - 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(c, p)) break;
        swap(c, p);
        c = p;
      }
    } else if (k > 0 && v > heapVal[0]) {
      heapIdx[0] = i;
      heapVal[0] = v;
      down(0);
    }
  }
  const order = heapIdx.map((idx, j) => ({ idx, v: heapVal[j] }));
  order.sort((a, b) => b.v - a.v || a.idx - b.idx);
  return order.map((o) => o.idx);
}

/** Mean top-K metrics over the evaluated users (binary relevance: the user's held-out items). */
export interface TopKMetrics {
  k: number;
  /** Users with at least one held-out item. */
  users: number;
  precisionAtK: number;
  recallAtK: number;
  ndcgAtK: number;
  mapAtK: number;
  /** Distinct items recommended to anyone / catalogue size. */
  coverage: number;
}

/** Accumulates per-user ranked lists against held-out relevant sets. */
export class TopKAccumulator {
  private users = 0;
  private precision = 0;
  private recall = 0;
  private ndcg = 0;
  private map = 0;
  private readonly recommended = new Set<number>();

  constructor(
    readonly k: number,
    private readonly catalogueSize: number,
  ) {}

  add(ranked: readonly number[], relevant: ReadonlySet<number>): void {
    if (relevant.size === 0) return;
    const k = this.k;
    let hits = 0;
    let dcg = 0;
    let ap = 0;
    const top = ranked.slice(0, k);
    top.forEach((item, pos) => {
      this.recommended.add(item);
      if (!relevant.has(item)) return;
      hits += 1;
      dcg += 1 / Math.log2(pos + 2);
      ap += hits / (pos + 1);
    });
    let idcg = 0;
    for (let pos = 0; pos < Math.min(relevant.size, k); pos++) idcg += 1 / Math.log2(pos + 2);
    this.users += 1;
    this.precision += hits / k;
    this.recall += hits / relevant.size;
    this.ndcg += idcg > 0 ? dcg / idcg : 0;
    this.map += ap / Math.min(relevant.size, k);
  }

  result(): TopKMetrics {
    const n = Math.max(1, this.users);
    return {
      k: this.k,
      users: this.users,
      precisionAtK: this.precision / n,
      recallAtK: this.recall / n,
      ndcgAtK: this.ndcg / n,
      mapAtK: this.map / n,
      coverage: this.catalogueSize > 0 ? this.recommended.size / this.catalogueSize : 0,
    };
  }
}
