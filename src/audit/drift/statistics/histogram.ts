import type { CategoricalColumnProfile, Histogram, NumericColumnProfile } from '../../../contracts/dataset-profile';

/** Bucket that collects categories outside the reference's exact `frequencies`. */
export const OTHER_CATEGORY = '__other__';

export interface BinnedValues {
  /** Counts per reference bin (bin i is [edges[i], edges[i+1]), the last one closed). */
  counts: number[];
  /** Values below the first edge / above the last edge (not in `counts`). */
  below: number;
  above: number;
}

/**
 * Counts finite values into the bins defined by `edges` (ascending). Bin i holds
 * edges[i] ≤ x < edges[i+1]; the last bin also holds x === its right edge, as in the profile
 * contract. Values outside [edges[0], edges[last]] are counted in `below`/`above`.
 */
export function binOnEdges(edges: readonly number[], values: Iterable<number>): BinnedValues {
  const bins = Math.max(0, edges.length - 1);
  const counts = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  if (bins === 0) return { counts, below, above };
  const lo = edges[0];
  const hi = edges[bins];
  for (const x of values) {
    if (!Number.isFinite(x)) continue;
    if (x < lo) {
      below++;
      continue;
    }
    if (x > hi) {
      above++;
      continue;
    }
    // Largest i in [0, bins - 1] with edges[i] <= x.
    let l = 0;
    let r = bins - 1;
    while (l < r) {
      const mid = (l + r + 1) >> 1;
      if (edges[mid] <= x) l = mid;
      else r = mid - 1;
    }
    counts[l]++;
  }
  return { counts, below, above };
}

/** Reference and current histograms on the reference's bin edges, for charts. */
export interface NumericHistogramComparison {
  kind: 'numeric';
  edges: number[];
  reference: number[];
  current: number[];
  /** Current values outside the reference range (not in `current`). */
  currentBelow: number;
  currentAbove: number;
}

/** Reference and current counts per reference category, for charts. */
export interface CategoricalHistogramComparison {
  kind: 'categorical';
  /** Reference categories in profile order, then OTHER_CATEGORY when it has any count. */
  categories: string[];
  reference: number[];
  current: number[];
}

export type HistogramComparison = NumericHistogramComparison | CategoricalHistogramComparison;

/** Coerces a raw value to a finite number, or null when missing / not numeric. */
export function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** Coerces a raw value to a category label, or null when missing. */
export function toCategory(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return String(v);
}

export function numericHistogramComparison(
  reference: Pick<NumericColumnProfile, 'histogram'> | { histogram: Histogram },
  values: Iterable<unknown>,
): NumericHistogramComparison {
  const nums: number[] = [];
  for (const v of values) {
    const n = toNumber(v);
    if (n !== null) nums.push(n);
  }
  const { counts, below, above } = binOnEdges(reference.histogram.edges, nums);
  return {
    kind: 'numeric',
    edges: [...reference.histogram.edges],
    reference: [...reference.histogram.counts],
    current: counts,
    currentBelow: below,
    currentAbove: above,
  };
}

export function categoricalHistogramComparison(
  reference: Pick<CategoricalColumnProfile, 'frequencies' | 'otherCount'>,
  values: Iterable<unknown>,
): CategoricalHistogramComparison {
  const categories = Object.keys(reference.frequencies);
  const index = new Map(categories.map((c, i) => [c, i] as const));
  const ref = categories.map((c) => reference.frequencies[c]);
  const cur = new Array<number>(categories.length).fill(0);
  let other = 0;
  for (const v of values) {
    const c = toCategory(v);
    if (c === null) continue;
    const i = index.get(c);
    if (i === undefined) other++;
    else cur[i]++;
  }
  if (reference.otherCount > 0 || other > 0) {
    categories.push(OTHER_CATEGORY);
    ref.push(reference.otherCount);
    cur.push(other);
  }
  return { kind: 'categorical', categories, reference: ref, current: cur };
}

/**
 * Current values as counts on the reference's bins (numeric) or categories (categorical),
 * beside the reference counts: the data for a reference-vs-current chart.
 */
export function histogramComparison(
  reference: NumericColumnProfile | CategoricalColumnProfile,
  values: Iterable<unknown>,
): HistogramComparison {
  return reference.kind === 'numeric' ? numericHistogramComparison(reference, values) : categoricalHistogramComparison(reference, values);
}
