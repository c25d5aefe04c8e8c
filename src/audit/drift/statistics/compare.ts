import type { CategoricalColumnProfile, DatasetProfile, NumericColumnProfile } from '../../../contracts/dataset-profile';
import { chiSquareHomogeneity } from './chi-square';
import { jensenShannonDistance, populationStabilityIndex, PSI_EPSILON, wassersteinNormalized } from './distances';
import { binOnEdges, categoricalHistogramComparison, toNumber } from './histogram';
import { ksTwoSample } from './ks';

/**
 * Feature-by-feature drift of a window of current values against a dataset version's profile,
 * with the defaults below (Evidently's; the README's "Drift" paragraph states them for users):
 * - reference ≤ 1000 rows: two-sample KS (numeric) / chi-square homogeneity (categorical),
 *   drift when p < 0.05;
 * - larger reference: Wasserstein-1 / reference std (numeric) or Jensen–Shannon distance
 *   (categorical), drift when the distance ≥ 0.1;
 * - PSI over the reference's bins as an extra score (≥ 0.1 drift, ≥ 0.25 major);
 * - dataset drift when ≥ 50% of the tested features drift.
 * Every feature result carries the test name and threshold beside its score.
 */

export type DriftTestName = 'ks' | 'chi_square' | 'wasserstein_normalized' | 'jensen_shannon';

export interface DriftRules {
  /** References with at most this many rows use the statistical tests (KS / chi-square). */
  smallReferenceMaxRows: number;
  /** Statistical tests: drift when p-value < this. */
  pValueThreshold: number;
  /** Distances (Wasserstein / std, Jensen–Shannon): drift when the distance ≥ this. */
  distanceThreshold: number;
  /** PSI ≥ this is drift … */
  psiThreshold: number;
  /** … and ≥ this is major drift. */
  psiMajorThreshold: number;
  /** Proportion substituted for an empty bin in PSI. */
  psiEpsilon: number;
  /** Dataset drift when driftedShare ≥ this. */
  datasetDriftShare: number;
}

export const DEFAULT_DRIFT_RULES: Readonly<DriftRules> = Object.freeze({
  smallReferenceMaxRows: 1000,
  pValueThreshold: 0.05,
  distanceThreshold: 0.1,
  psiThreshold: 0.1,
  psiMajorThreshold: 0.25,
  psiEpsilon: PSI_EPSILON,
  datasetDriftShare: 0.5,
});

export interface CompareOptions {
  /** Overrides of the default rules. */
  rules?: Partial<DriftRules>;
  /** `auto` (default) picks by reference size; the others force a family of tests. */
  method?: 'auto' | 'statistical' | 'distance';
  /** Only these features (default: every numeric or categorical column of the reference). */
  features?: readonly string[];
}

export interface CurrentWindow {
  columns: Record<string, ReadonlyArray<number | string | boolean | null | undefined>>;
}

export interface FeatureDrift {
  feature: string;
  kind: 'numeric' | 'categorical';
  test: DriftTestName;
  /** ks: D statistic; chi_square: χ² statistic; wasserstein_normalized / jensen_shannon: the distance. */
  score: number;
  /** Present for the statistical tests (ks, chi_square). */
  pValue?: number;
  /** Degrees of freedom (chi_square only). */
  dof?: number;
  /** The threshold applied to `pValue` (statistical tests) or `score` (distances). */
  threshold: number;
  /** `p_value_below`: drift when pValue < threshold; `score_at_least`: drift when score ≥ threshold. */
  thresholdRule: 'p_value_below' | 'score_at_least';
  drifted: boolean;
  /** PSI over the reference's bins/categories; null when the reference has no usable bins. */
  psi: number | null;
  psiThreshold: number;
  psiMajorThreshold: number;
  psiLevel: 'none' | 'drift' | 'major' | null;
  /** Reference values the test used (sample for numeric tests, counts for categorical). */
  referenceCount: number;
  /** Non-missing current values. */
  currentCount: number;
  currentMissing: number;
}

export interface SkippedFeature {
  feature: string;
  reason: string;
}

export interface DriftReport {
  /** Which family of tests was used. */
  method: 'statistical' | 'distance';
  referenceRowCount: number;
  features: FeatureDrift[];
  skipped: SkippedFeature[];
  featureCount: number;
  driftedCount: number;
  /** driftedCount / featureCount (0 when nothing was tested). */
  driftedShare: number;
  datasetDrift: boolean;
  rules: DriftRules;
}

/** Compares current values with a dataset profile; pure and synchronous. */
export function compareToReference(referenceProfile: DatasetProfile, current: CurrentWindow, options: CompareOptions = {}): DriftReport {
  const rules: DriftRules = { ...DEFAULT_DRIFT_RULES, ...stripUndefined(options.rules ?? {}) };
  const method =
    options.method === 'statistical' || options.method === 'distance'
      ? options.method
      : referenceProfile.rowCount <= rules.smallReferenceMaxRows
        ? 'statistical'
        : 'distance';

  const names = options.features ?? Object.keys(referenceProfile.columns);
  const features: FeatureDrift[] = [];
  const skipped: SkippedFeature[] = [];

  for (const feature of names) {
    const column = Object.prototype.hasOwnProperty.call(referenceProfile.columns, feature) ? referenceProfile.columns[feature] : undefined;
    if (!column) {
      skipped.push({ feature, reason: 'not in reference profile' });
      continue;
    }
    if (column.kind === 'timestamp') {
      skipped.push({ feature, reason: 'timestamp columns are not tested' });
      continue;
    }
    const values = Object.prototype.hasOwnProperty.call(current.columns, feature) ? current.columns[feature] : undefined;
    if (!values) {
      skipped.push({ feature, reason: 'absent from current window' });
      continue;
    }
    const result =
      column.kind === 'numeric'
        ? numericDrift(feature, column, values, method, rules)
        : categoricalDrift(feature, column, values, method, rules);
    if ('reason' in result) skipped.push(result);
    else features.push(result);
  }

  const driftedCount = features.filter((f) => f.drifted).length;
  const driftedShare = features.length === 0 ? 0 : driftedCount / features.length;
  return {
    method,
    referenceRowCount: referenceProfile.rowCount,
    features,
    skipped,
    featureCount: features.length,
    driftedCount,
    driftedShare,
    datasetDrift: features.length > 0 && driftedShare >= rules.datasetDriftShare,
    rules,
  };
}

function numericDrift(
  feature: string,
  column: NumericColumnProfile,
  values: ReadonlyArray<unknown>,
  method: 'statistical' | 'distance',
  rules: DriftRules,
): FeatureDrift | SkippedFeature {
  const cur: number[] = [];
  for (const v of values) {
    const n = toNumber(v);
    if (n !== null) cur.push(n);
  }
  const ref = column.sample.filter((v) => Number.isFinite(v));
  if (ref.length === 0) return { feature, reason: 'reference sample is empty' };
  if (cur.length === 0) return { feature, reason: 'no non-missing current values' };

  const psi = numericPsi(column, cur, rules.psiEpsilon);
  const base = {
    feature,
    kind: 'numeric' as const,
    referenceCount: ref.length,
    currentCount: cur.length,
    currentMissing: values.length - cur.length,
    ...psiFields(psi, rules),
  };
  if (method === 'statistical') {
    const ks = ksTwoSample(ref, cur);
    return {
      ...base,
      test: 'ks',
      score: ks.statistic,
      pValue: ks.pValue,
      threshold: rules.pValueThreshold,
      thresholdRule: 'p_value_below',
      drifted: ks.pValue < rules.pValueThreshold,
    };
  }
  const score = wassersteinNormalized(ref, cur, column.std);
  return {
    ...base,
    test: 'wasserstein_normalized',
    score,
    threshold: rules.distanceThreshold,
    thresholdRule: 'score_at_least',
    drifted: score >= rules.distanceThreshold,
  };
}

/** PSI on the reference histogram; current values outside its range count in the edge bins. */
function numericPsi(column: NumericColumnProfile, cur: readonly number[], epsilon: number): number | null {
  const { edges, counts } = column.histogram;
  const bins = counts.length;
  if (bins === 0 || edges.length !== bins + 1 || counts.every((c) => !(c > 0))) return null;
  const binned = binOnEdges(edges, cur);
  const curCounts = binned.counts;
  curCounts[0] += binned.below;
  curCounts[bins - 1] += binned.above;
  return populationStabilityIndex(counts, curCounts, epsilon);
}

function categoricalDrift(
  feature: string,
  column: CategoricalColumnProfile,
  values: ReadonlyArray<unknown>,
  method: 'statistical' | 'distance',
  rules: DriftRules,
): FeatureDrift | SkippedFeature {
  // Categories outside the reference's exact frequencies (new, or among those folded into
  // `otherCount`) share one "other" bucket.
  const table = categoricalHistogramComparison(column, values);
  const refTotal = table.reference.reduce((s, c) => s + c, 0);
  const curTotal = table.current.reduce((s, c) => s + c, 0);
  if (refTotal === 0) return { feature, reason: 'reference has no category counts' };
  if (curTotal === 0) return { feature, reason: 'no non-missing current values' };

  const psi = populationStabilityIndex(table.reference, table.current, rules.psiEpsilon);
  const base = {
    feature,
    kind: 'categorical' as const,
    referenceCount: refTotal,
    currentCount: curTotal,
    currentMissing: values.length - curTotal,
    ...psiFields(psi, rules),
  };
  if (method === 'statistical') {
    const chi = chiSquareHomogeneity(table.reference, table.current);
    return {
      ...base,
      test: 'chi_square',
      score: chi.statistic,
      pValue: chi.pValue,
      dof: chi.dof,
      threshold: rules.pValueThreshold,
      thresholdRule: 'p_value_below',
      drifted: chi.pValue < rules.pValueThreshold,
    };
  }
  const score = jensenShannonDistance(table.reference, table.current);
  return {
    ...base,
    test: 'jensen_shannon',
    score,
    threshold: rules.distanceThreshold,
    thresholdRule: 'score_at_least',
    drifted: score >= rules.distanceThreshold,
  };
}

function psiFields(psi: number | null, rules: DriftRules) {
  return {
    psi,
    psiThreshold: rules.psiThreshold,
    psiMajorThreshold: rules.psiMajorThreshold,
    psiLevel:
      psi === null
        ? null
        : psi >= rules.psiMajorThreshold
          ? ('major' as const)
          : psi >= rules.psiThreshold
            ? ('drift' as const)
            : ('none' as const),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
