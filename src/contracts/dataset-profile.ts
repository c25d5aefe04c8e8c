/**
 * The profile computed for every dataset version during ingestion. It is the reference that
 * drift detection (audit domain) compares live traffic against, so it keeps what two-sample tests
 * need: histogram bins with counts and a reservoir sample of raw values per column.
 * Shared shape (no logic): ingestion writes it, training and audit read it.
 */
export type ColumnType = 'number' | 'integer' | 'boolean' | 'categorical' | 'string' | 'timestamp';

/** Size of the per-column reservoir sample kept in a profile. */
export const PROFILE_SAMPLE_SIZE = 1000;

export interface Histogram {
  /** Bin edges, ascending; `edges.length === counts.length + 1`. The last bin includes its right edge. */
  edges: number[];
  counts: number[];
}

export interface NumericColumnProfile {
  kind: 'numeric';
  /** Non-missing values. */
  count: number;
  /** Values that were absent or a null token (`""`, `NA`, `N/A`, `null`, `NaN` by default). */
  missing: number;
  /** Approximate distinct count. */
  distinct: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Sample standard deviation (n - 1). */
  std: number | null;
  /** Keys `p1`, `p5`, `p25`, `p50`, `p75`, `p95`, `p99`; approximate for large data. */
  quantiles: Record<string, number>;
  histogram: Histogram;
  /** Uniform reservoir sample of non-missing values, at most PROFILE_SAMPLE_SIZE. */
  sample: number[];
}

export interface CategoricalColumnProfile {
  /** Used for categorical, boolean and string columns. */
  kind: 'categorical';
  count: number;
  missing: number;
  distinct: number;
  /** Most frequent values, descending by count (at most 20). */
  top: Array<{ value: string; count: number }>;
  /** Exact counts for up to 1000 categories; the rest are summed under `otherCount`. */
  frequencies: Record<string, number>;
  otherCount: number;
  sample: string[];
}

export interface TimestampColumnProfile {
  kind: 'timestamp';
  count: number;
  missing: number;
  distinct: number;
  /** ISO 8601. */
  min: string | null;
  max: string | null;
}

export type ColumnProfile = NumericColumnProfile | CategoricalColumnProfile | TimestampColumnProfile;

export interface DatasetProfile {
  rowCount: number;
  columns: Record<string, ColumnProfile>;
}
