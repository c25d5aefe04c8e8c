/**
 * Test support: a small, straightforward DatasetProfile builder (the real one belongs to the
 * ingestion domain) plus a seeded RNG, so drift tests can profile a public table themselves.
 */
import type { CategoricalColumnProfile, ColumnProfile, DatasetProfile, NumericColumnProfile } from '../../src/contracts/dataset-profile';
import { PROFILE_SAMPLE_SIZE } from '../../src/contracts/dataset-profile';

export type Row = Record<string, unknown>;

import { mulberry32 as seededRandom } from '../../src/platform/util/seeded-random';

export { seededRandom };

/** `n` rows drawn with replacement. */
export function bootstrap<T>(rows: readonly T[], n: number, rand: () => number): T[] {
  return Array.from({ length: n }, () => rows[Math.floor(rand() * rows.length)]);
}

/** Draws a category from `{category: weight}`. */
export function drawCategory(weights: Record<string, number>, rand: () => number): string {
  const entries = Object.entries(weights);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let u = rand() * total;
  for (const [k, w] of entries) {
    u -= w;
    if (u < 0) return k;
  }
  return entries[entries.length - 1][0];
}

export function toColumns(rows: readonly Row[], names: readonly string[]): Record<string, Array<number | string | boolean | null>> {
  const out: Record<string, Array<number | string | boolean | null>> = {};
  for (const name of names) out[name] = rows.map((r) => (r[name] ?? null) as number | string | boolean | null);
  return out;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function reservoir<T>(values: readonly T[], k: number, rand: () => number): T[] {
  const out: T[] = [];
  values.forEach((v, i) => {
    if (i < k) out.push(v);
    else {
      const j = Math.floor(rand() * (i + 1));
      if (j < k) out[j] = v;
    }
  });
  return out;
}

function numericProfile(values: number[], missing: number, bins: number, rand: () => number): NumericColumnProfile {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const std = Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const min = sorted[0];
  const max = sorted[n - 1];
  const width = (max - min) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : min + i * width));
  const counts = new Array<number>(bins).fill(0);
  for (const v of sorted) counts[width === 0 ? 0 : Math.min(bins - 1, Math.floor((v - min) / width))]++;
  const quantiles: Record<string, number> = {};
  for (const p of [1, 5, 25, 50, 75, 95, 99]) quantiles[`p${p}`] = quantile(sorted, p / 100);
  return {
    kind: 'numeric',
    count: n,
    missing,
    distinct: new Set(sorted).size,
    min,
    max,
    mean,
    std,
    quantiles,
    histogram: { edges, counts },
    sample: reservoir(values, PROFILE_SAMPLE_SIZE, rand),
  };
}

function categoricalProfile(values: string[], missing: number, rand: () => number): CategoricalColumnProfile {
  const frequencies: Record<string, number> = {};
  for (const v of values) frequencies[v] = (frequencies[v] ?? 0) + 1;
  const top = Object.entries(frequencies)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([value, count]) => ({ value, count }));
  return {
    kind: 'categorical',
    count: values.length,
    missing,
    distinct: Object.keys(frequencies).length,
    top,
    frequencies,
    otherCount: 0,
    sample: reservoir(values, PROFILE_SAMPLE_SIZE, rand),
  };
}

/** Profiles `rows`: a column whose non-null values are all numbers is numeric, else categorical. */
export function buildProfile(
  rows: readonly Row[],
  columns: readonly string[],
  opts: { bins?: number; seed?: number } = {},
): DatasetProfile {
  const rand = seededRandom(opts.seed ?? 1);
  const out: Record<string, ColumnProfile> = {};
  for (const name of columns) {
    const present = rows.map((r) => r[name]).filter((v) => v !== null && v !== undefined);
    const missing = rows.length - present.length;
    out[name] = present.every((v) => typeof v === 'number')
      ? numericProfile(present as number[], missing, opts.bins ?? 10, rand)
      : categoricalProfile(present.map(String), missing, rand);
  }
  return { rowCount: rows.length, columns: out };
}
