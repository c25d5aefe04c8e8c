/**
 * Small streaming sketches used by the profiler: a seeded PRNG, reservoir sampling (Algorithm L,
 * so the PRNG is only called on replacements), a distinct counter (exact up to a cap, then
 * HyperLogLog), and a fixed-size histogram whose power-of-two bin width doubles to fit the data.
 */
import { mulberry32 as seededRandom } from '../../platform/util/seeded-random';

/** mulberry32 shifted by half a step into the open interval (0, 1): Algorithm L takes log(u). */
export function mulberry32(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() + 0.5 / 4294967296;
}

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h ^ s.length);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
export function hashNumber(v: number): number {
  f64[0] = v === 0 ? 0 : v; // -0 and 0 are one value
  return fmix32(u32[0]! ^ fmix32(u32[1]! ^ 0x9e3779b9));
}

/** Uniform reservoir sample of fixed capacity (Vitter / Li "Algorithm L"). */
export class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;
  private next = 0;
  private w = 0;
  constructor(
    readonly capacity: number,
    private readonly random: () => number,
  ) {}

  get count(): number {
    return this.seen;
  }

  add(x: T): void {
    const i = this.seen++;
    const k = this.capacity;
    if (i < k) {
      this.items.push(x);
      if (i === k - 1) {
        this.w = Math.exp(Math.log(this.random()) / k);
        this.next = k + Math.floor(Math.log(this.random()) / Math.log(1 - this.w));
      }
      return;
    }
    if (i === this.next) {
      this.items[Math.floor(this.random() * k)] = x;
      this.w *= Math.exp(Math.log(this.random()) / k);
      this.next += Math.floor(Math.log(this.random()) / Math.log(1 - this.w)) + 1;
    }
  }

  /** True when the next `add` would be kept: lets callers skip work for ignored values. */
  wantsNext(): boolean {
    return this.seen < this.capacity || this.seen === this.next;
  }

  skip(): void {
    this.seen++;
  }
}

/** Numeric reservoir backed by a Float64Array. */
export class NumberReservoir {
  readonly values: Float64Array;
  private size = 0;
  private seen = 0;
  private next = 0;
  private w = 0;
  constructor(
    readonly capacity: number,
    private readonly random: () => number,
  ) {
    this.values = new Float64Array(capacity);
  }

  add(x: number): void {
    const i = this.seen++;
    const k = this.capacity;
    if (i < k) {
      this.values[this.size++] = x;
      if (i === k - 1) {
        this.w = Math.exp(Math.log(this.random()) / k);
        this.next = k + Math.floor(Math.log(this.random()) / Math.log(1 - this.w));
      }
      return;
    }
    if (i === this.next) {
      this.values[Math.floor(this.random() * k)] = x;
      this.w *= Math.exp(Math.log(this.random()) / k);
      this.next += Math.floor(Math.log(this.random()) / Math.log(1 - this.w)) + 1;
    }
  }

  /** Sample values in arrival-slot order. */
  toArray(): number[] {
    return Array.from(this.values.subarray(0, this.size));
  }

  sorted(): Float64Array {
    return this.values.slice(0, this.size).sort();
  }

  /** True when every value seen is in the sample (quantiles are then exact). */
  get exact(): boolean {
    return this.seen <= this.capacity;
  }
}

/** Open-addressing set of doubles (keys by bit pattern), no per-value allocation. */
class NumberSet {
  private keys: Float64Array;
  private used: Uint8Array;
  private mask: number;
  size = 0;
  constructor(capacityPow2 = 1024) {
    this.keys = new Float64Array(capacityPow2);
    this.used = new Uint8Array(capacityPow2);
    this.mask = capacityPow2 - 1;
  }
  /** Returns true when the value was new. */
  add(v: number): boolean {
    const h = hashNumber(v);
    let i = h & this.mask;
    const keys = this.keys;
    const used = this.used;
    while (used[i] === 1) {
      if (keys[i] === v) return false;
      i = (i + 1) & this.mask;
    }
    used[i] = 1;
    keys[i] = v;
    if (++this.size * 2 > this.mask) this.rehash();
    return true;
  }
  private rehash(): void {
    const oldKeys = this.keys;
    const oldUsed = this.used;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldUsed[i] === 1) this.add(oldKeys[i]!);
  }
  *values(): IterableIterator<number> {
    for (let i = 0; i < this.keys.length; i++) if (this.used[i] === 1) yield this.keys[i]!;
  }
}

const HLL_P = 14;
const HLL_M = 1 << HLL_P;

/** Distinct counter: exact while below `exactLimit` distinct values, then HyperLogLog (p = 14, ~0.8 % error). */
export class DistinctCounter {
  private numbers: NumberSet | null = new NumberSet();
  private strings: Set<string> | null = new Set();
  private registers: Uint8Array | null = null;
  constructor(private readonly exactLimit = 4096) {}

  addNumber(v: number): void {
    const set = this.numbers;
    if (set !== null) {
      if (set.add(v === 0 ? 0 : v) && set.size + this.strings!.size > this.exactLimit) this.promote();
    } else this.addHash(hashNumber(v));
  }

  addString(s: string): void {
    const set = this.strings;
    if (set !== null) {
      set.add(s);
      if (set.size + this.numbers!.size > this.exactLimit) this.promote();
    } else this.addHash(hashString(s));
  }

  private promote(): void {
    const nums = this.numbers!;
    const strs = this.strings!;
    this.numbers = null;
    this.strings = null;
    this.registers = new Uint8Array(HLL_M);
    for (const v of nums.values()) this.addHash(hashNumber(v));
    for (const v of strs) this.addHash(hashString(v));
  }

  private addHash(h: number): void {
    const idx = h >>> (32 - HLL_P);
    const rest = (h << HLL_P) | (1 << (HLL_P - 1));
    const rank = Math.clz32(rest) + 1;
    const r = this.registers!;
    if (rank > r[idx]!) r[idx] = rank;
  }

  get isExact(): boolean {
    return this.registers === null;
  }

  estimate(): number {
    if (this.registers === null) return this.numbers!.size + this.strings!.size;
    const r = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      sum += 2 ** -r[i]!;
      if (r[i] === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    let e = (alpha * HLL_M * HLL_M) / sum;
    if (e <= 2.5 * HLL_M && zeros > 0) e = HLL_M * Math.log(HLL_M / zeros);
    return Math.round(e);
  }
}

/**
 * Histogram with a fixed number of fine bins of power-of-two width, aligned on multiples of the
 * width; when a value falls outside, the width doubles (pairs of bins merge), so counts stay exact
 * and bin edges stay exact binary fractions. `finish` groups the fine bins into at most
 * `targetBins` equal-width output bins covering [min, max].
 */
export class FineHistogram {
  private counts: Float64Array;
  private lo = 0;
  private width = 0;
  private started = false;
  constructor(private readonly bins = 1024) {
    this.counts = new Float64Array(bins);
  }

  /** Sets the initial window from a first batch's min/max: the data spans at most half of it. */
  private start(min: number, max: number, integer: boolean): void {
    const span = max - min;
    let w: number;
    if (span > 0) w = 2 ** Math.ceil(Math.log2(span / (this.bins / 2)));
    else w = min === 0 ? 1 : 2 ** Math.floor(Math.log2(Math.abs(min)) - 4);
    if (integer && w < 1) w = 1;
    if (!(w > 0) || !Number.isFinite(w)) w = 1;
    this.width = w;
    this.lo = Math.floor(min / w) * w - Math.floor(this.bins / 4) * w;
    this.started = true;
  }

  /**
   * Doubles the bin width. The new window [lo2, lo2 + n·2w) contains the old one; lo2 is a multiple
   * of 2w in [lo - n·w, lo]: the lowest such when extending down, the highest when extending up.
   */
  private grow(down: boolean): void {
    const n = this.bins;
    const w = this.width;
    const w2 = w * 2;
    const lo2 = down ? Math.ceil((this.lo - n * w) / w2) * w2 : Math.floor(this.lo / w2) * w2;
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = this.counts[i]!;
      if (c === 0) continue;
      next[Math.floor((this.lo + i * w - lo2) / w2)]! += c;
    }
    this.counts = next;
    this.width = w2;
    this.lo = lo2;
  }

  /** Adds the valid values of a batch whose min and max are given. */
  addBatch(values: Float64Array, valid: Uint8Array, len: number, min: number, max: number, integer: boolean): void {
    if (!this.started) this.start(min, max, integer);
    const n = this.bins;
    while (min < this.lo) this.grow(true);
    while (max >= this.lo + n * this.width) this.grow(false);
    const lo = this.lo;
    const w = this.width;
    const counts = this.counts;
    for (let i = 0; i < len; i++) {
      if (valid[i] === 0) continue;
      let b = Math.floor((values[i]! - lo) / w);
      if (b >= n) b = n - 1;
      else if (b < 0) b = 0;
      counts[b]! += 1;
    }
  }

  /**
   * Groups the occupied fine bins into at most `targetBins` equal-width bins. Edges are multiples
   * of the fine width, so the first edge is <= min and the last edge is > max.
   */
  finish(min: number, max: number, targetBins = 20): { edges: number[]; counts: number[] } {
    if (!this.started) return { edges: [], counts: [] };
    const w = this.width;
    let f = Math.floor((min - this.lo) / w);
    let l = Math.floor((max - this.lo) / w);
    f = Math.max(0, Math.min(this.bins - 1, f));
    l = Math.max(f, Math.min(this.bins - 1, l));
    const occupied = l - f + 1;
    const k = Math.ceil(occupied / targetBins);
    const nb = Math.ceil(occupied / k);
    const edges: number[] = [];
    const counts: number[] = [];
    for (let j = 0; j <= nb; j++) edges.push(this.lo + (f + j * k) * w);
    for (let j = 0; j < nb; j++) {
      let c = 0;
      const end = Math.min(f + (j + 1) * k, this.bins);
      for (let i = f + j * k; i < end; i++) c += this.counts[i]!;
      counts.push(c);
    }
    return { edges, counts };
  }
}

/** Linear-interpolation quantile (R type 7 / numpy default) of a sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
