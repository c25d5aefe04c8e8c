/**
 * Per-column profiles computed batch by batch in the same pass as validation and the columnar
 * write. Numbers: count, missing, approximate distinct, min/max, mean and sample std (Chan's
 * parallel merge of per-batch moments), quantiles from a large uniform sample (exact while the
 * column has at most QUANTILE_SAMPLE_SIZE values), histogram with exact counts, and a seeded
 * reservoir sample. Categorical/boolean/string: exact frequencies for the first 1000 categories,
 * the rest summed in `otherCount`, top 20 and a reservoir sample. Timestamps: min/max/distinct.
 */
import {
  PROFILE_SAMPLE_SIZE,
  type CategoricalColumnProfile,
  type ColumnProfile,
  type NumericColumnProfile,
  type TimestampColumnProfile,
} from '../../contracts/dataset-profile';
import { DistinctCounter, FineHistogram, NumberReservoir, Reservoir, hashString, mulberry32, quantileSorted } from './sketches';

export const QUANTILE_SAMPLE_SIZE = 16384;
export const MAX_FREQUENCIES = 1000;
export const TOP_K = 20;
export const HISTOGRAM_BINS = 20;
export const QUANTILES: ReadonlyArray<[string, number]> = [
  ['p1', 0.01],
  ['p5', 0.05],
  ['p25', 0.25],
  ['p50', 0.5],
  ['p75', 0.75],
  ['p95', 0.95],
  ['p99', 0.99],
];

function seeded(seed: number, name: string, salt: number): () => number {
  return mulberry32((seed ^ hashString(name) ^ Math.imul(salt, 0x9e3779b1)) >>> 0);
}

export class NumericProfiler {
  count = 0;
  missing = 0;
  private min = Infinity;
  private max = -Infinity;
  private mean = 0;
  private m2 = 0;
  private readonly distinct = new DistinctCounter();
  private readonly sample: NumberReservoir;
  private readonly qsample: NumberReservoir;
  private readonly hist = new FineHistogram(1024);

  constructor(name: string, seed: number) {
    this.sample = new NumberReservoir(PROFILE_SAMPLE_SIZE, seeded(seed, name, 1));
    this.qsample = new NumberReservoir(QUANTILE_SAMPLE_SIZE, seeded(seed, name, 2));
  }

  addBatch(values: Float64Array, valid: Uint8Array, len: number, integer: boolean): void {
    let n = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < len; i++) {
      if (valid[i] === 0) continue;
      const v = values[i]!;
      n++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.missing += len - n;
    if (n === 0) return;
    const bm = sum / n;
    let bm2 = 0;
    const distinct = this.distinct;
    const sample = this.sample;
    const qsample = this.qsample;
    for (let i = 0; i < len; i++) {
      if (valid[i] === 0) continue;
      const v = values[i]!;
      const d = v - bm;
      bm2 += d * d;
      distinct.addNumber(v);
      sample.add(v);
      qsample.add(v);
    }
    // Chan et al. merge of (count, mean, M2)
    const na = this.count;
    const total = na + n;
    const delta = bm - this.mean;
    this.mean += (delta * n) / total;
    this.m2 += bm2 + (delta * delta * na * n) / total;
    this.count = total;
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
    this.hist.addBatch(values, valid, len, min, max, integer);
  }

  finish(): NumericColumnProfile {
    const has = this.count > 0;
    const quantiles: Record<string, number> = {};
    if (has) {
      const sorted = this.qsample.sorted();
      for (const [k, p] of QUANTILES) quantiles[k] = quantileSorted(sorted, p);
    }
    return {
      kind: 'numeric',
      count: this.count,
      missing: this.missing,
      distinct: this.distinct.estimate(),
      min: has ? this.min : null,
      max: has ? this.max : null,
      mean: has ? this.mean : null,
      std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : null,
      quantiles,
      histogram: has ? this.hist.finish(this.min, this.max, HISTOGRAM_BINS) : { edges: [], counts: [] },
      sample: this.sample.toArray(),
    };
  }
}

export class CategoricalProfiler {
  count = 0;
  missing = 0;
  /** Category → slot in `counts` (one hash lookup per value). */
  private readonly index = new Map<string, number>();
  private readonly counts = new Float64Array(MAX_FREQUENCIES);
  otherCount = 0;
  /** Distinct values that did not fit in `frequencies` (all differ from its keys). */
  private readonly overflowDistinct = new DistinctCounter();
  private readonly sample: Reservoir<string>;

  constructor(name: string, seed: number) {
    this.sample = new Reservoir<string>(PROFILE_SAMPLE_SIZE, seeded(seed, name, 3));
  }

  add(v: string): void {
    this.count++;
    const slot = this.index.get(v);
    if (slot !== undefined) this.counts[slot]!++;
    else if (this.index.size < MAX_FREQUENCIES) {
      this.counts[this.index.size] = 1;
      this.index.set(v, this.index.size);
    } else {
      this.otherCount++;
      this.overflowDistinct.addString(v);
    }
    this.sample.add(v);
  }

  addStrings(values: string[], valid: Uint8Array, len: number): void {
    for (let i = 0; i < len; i++) {
      if (valid[i] === 0) this.missing++;
      else this.add(values[i]!);
    }
  }

  addBooleans(values: Uint8Array, valid: Uint8Array, len: number): void {
    for (let i = 0; i < len; i++) {
      if (valid[i] === 0) this.missing++;
      else this.add(values[i] ? 'true' : 'false');
    }
  }

  get distinct(): number {
    return this.index.size + this.overflowDistinct.estimate();
  }

  finish(): CategoricalColumnProfile {
    const counted: Array<[string, number]> = [...this.index].map(([k, slot]) => [k, this.counts[slot]!]);
    const entries = counted.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const frequencies: Record<string, number> = {};
    for (const [k, v] of [...counted].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) frequencies[k] = v;
    return {
      kind: 'categorical',
      count: this.count,
      missing: this.missing,
      distinct: this.distinct,
      top: entries.slice(0, TOP_K).map(([value, count]) => ({ value, count })),
      frequencies,
      otherCount: this.otherCount,
      sample: this.sample.items.slice(),
    };
  }
}

export class TimestampProfiler {
  count = 0;
  missing = 0;
  private min = Infinity;
  private max = -Infinity;
  private readonly distinct = new DistinctCounter();

  addBatch(values: Float64Array, valid: Uint8Array, len: number): void {
    for (let i = 0; i < len; i++) {
      if (valid[i] === 0) {
        this.missing++;
        continue;
      }
      const v = values[i]!;
      this.count++;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      this.distinct.addNumber(v);
    }
  }

  finish(): TimestampColumnProfile {
    const has = this.count > 0;
    return {
      kind: 'timestamp',
      count: this.count,
      missing: this.missing,
      distinct: this.distinct.estimate(),
      min: has ? new Date(this.min).toISOString() : null,
      max: has ? new Date(this.max).toISOString() : null,
    };
  }
}

export type ColumnProfiler = NumericProfiler | CategoricalProfiler | TimestampProfiler;

export function finishProfile(p: ColumnProfiler): ColumnProfile {
  return p.finish();
}
