/**
 * Promotion of a freshly trained version to the `production` alias (`promote` on a training job).
 *
 *   never      (default) nothing moves
 *   always     `production` moves to the new version
 *   if-better  the current `production` version is loaded from the artifact store with its saved
 *              preprocessing and target spec and scored on the NEW job's test rows (the same rows the
 *              candidate's `metrics.test` come from); `production` moves only if the named metric
 *              strictly improves. When the production version cannot be scored on those rows (an
 *              imported model without preprocessing, features missing from the table, an unknown
 *              class label, a different task) the stored `metrics.test` of both are compared instead,
 *              and `basis` says so: 'stored-test-metrics' rather than 'candidate-test-split'.
 *
 * Framework-free apart from the engine (src/training/engine is framework-free TF.js code shared by
 * training and serving); the processor calls `decidePromotion` before registering and the registry
 * applies the decision inside the registration transaction.
 */
import { TfRuntime } from '../platform/tfjs/tf-runtime';
import { loadModelFromBytes, type ModelBytes } from '../platform/tfjs/artifact-io';
import {
  binaryMetrics,
  multiclassMetrics,
  predictRecords,
  regressionMetrics,
  type DataRecord,
  type Metrics,
  type PreprocessingSpec,
  type TargetSpec,
} from '../ml';

export const PROMOTE_MODES = ['never', 'always', 'if-better'] as const;
export type PromoteMode = (typeof PROMOTE_MODES)[number];

/** Metrics a promotion may compare, per task (scalar keys of metrics.test). */
export const PROMOTE_METRICS: Record<string, readonly string[]> = {
  binary: ['rocAuc', 'prAuc', 'logLoss', 'accuracy', 'precision', 'recall', 'f1'],
  multiclass: ['accuracy', 'macroF1'],
  regression: ['rmse', 'mae', 'r2'],
};
export const ALL_PROMOTE_METRICS = [...new Set(Object.values(PROMOTE_METRICS).flat())];

/** Lower is better for these; higher for every other metric. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['rmse', 'mae', 'logLoss']);

export function defaultPromoteMetric(task: string): string {
  return task === 'binary' ? 'rocAuc' : task === 'multiclass' ? 'macroF1' : 'rmse';
}

export function improves(metric: string, candidate: number, production: number): boolean {
  if (!Number.isFinite(candidate)) return false;
  if (!Number.isFinite(production)) return true;
  return LOWER_IS_BETTER.has(metric) ? candidate < production : candidate > production;
}

export type ComparisonBasis = 'candidate-test-split' | 'stored-test-metrics' | 'no-production-version';

/** Stored on the training job (`promotion`). */
export interface PromotionDecision {
  mode: PromoteMode;
  alias: 'production';
  metric?: string;
  lowerIsBetter?: boolean;
  candidate?: number | null;
  production?: number | null;
  productionVersion?: number | null;
  basis?: ComparisonBasis;
  /** Why the comparison fell back to stored metrics. */
  basisNote?: string;
  /** Test rows both versions were scored on (basis candidate-test-split). */
  rows?: number;
  promote: boolean;
  /** Filled in by the registry once the alias moved (or why it did not). */
  promoted?: boolean;
  from?: number | null;
  to?: number | null;
  reason: string;
}

/** What the registry knows of the current production version. */
export interface ProductionVersion {
  version: number;
  task: string | null;
  metrics: { test?: Record<string, unknown> } | null;
  preprocessing: object | null;
  target: object | null;
  load(): Promise<ModelBytes>;
}

export interface CandidateEvaluation {
  task: string;
  /** The candidate's metrics.test. */
  testMetrics: Record<string, unknown>;
  /** The new job's table rows and the test split's row indices + actual labels/values. */
  rows: readonly DataRecord[];
  testRowIndices: readonly number[];
  testYTrue: ReadonlyArray<string | number>;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Scores the production version on the candidate's test rows; throws with a reason when it cannot. */
export async function scoreProductionOnTestSplit(prod: ProductionVersion, c: CandidateEvaluation, metric: string): Promise<number> {
  if (prod.task !== c.task) throw new Error(`production version is a ${prod.task ?? 'untyped'} model, the candidate ${c.task}`);
  if (!prod.preprocessing || !prod.target) throw new Error('production version has no saved preprocessing/target (imported model)');
  const pre = prod.preprocessing as PreprocessingSpec;
  const target = prod.target as TargetSpec;
  const names = pre.features.map((f) => f.name);
  const first = c.rows[c.testRowIndices[0]];
  const absent = first ? names.filter((n) => !(n in first)) : [];
  if (absent.length) throw new Error(`the candidate's table lacks production feature(s) ${absent.join(', ')}`);
  const records = c.testRowIndices.map((i) => Object.fromEntries(names.map((n) => [n, c.rows[i][n] ?? null])));
  await TfRuntime.init();
  const loaded = await loadModelFromBytes(await prod.load());
  try {
    const preds = predictRecords(loaded.model, pre, target, records);
    let m: Metrics;
    if (c.task === 'regression') {
      m = regressionMetrics(
        c.testYTrue.map((y) => Number(y)),
        preds.map((p) => p.value as number),
      );
    } else {
      const classes = target.classes ?? [];
      const truth = c.testYTrue.map((y) => classes.indexOf(String(y)));
      const unknown = c.testYTrue.find((y, i) => truth[i] < 0);
      if (unknown !== undefined) throw new Error(`test label '${String(unknown)}' is not a class of the production version`);
      if (c.task === 'binary') {
        m = binaryMetrics(
          truth,
          preds.map((p) => (p.probabilities as Record<string, number>)[classes[1]]),
          target.threshold ?? 0.5,
          classes,
        );
      } else {
        m = multiclassMetrics(
          truth,
          preds.map((p) => classes.indexOf(p.label as string)),
          classes,
        );
      }
    }
    const v = num((m as unknown as Record<string, unknown>)[metric]);
    if (v === null) throw new Error(`metric ${metric} is not defined for the production version`);
    return v;
  } finally {
    loaded.model.dispose();
  }
}

/** Decides whether `production` moves to the candidate. Never throws: a failure to compare keeps production. */
export async function decidePromotion(
  mode: PromoteMode,
  metricName: string | undefined,
  candidate: CandidateEvaluation,
  production: ProductionVersion | null,
): Promise<PromotionDecision | null> {
  if (mode === 'never') return null;
  if (mode === 'always') return { mode, alias: 'production', promote: true, reason: 'promote=always' };
  const metric = metricName ?? defaultPromoteMetric(candidate.task);
  const lowerIsBetter = LOWER_IS_BETTER.has(metric);
  const cand = num(candidate.testMetrics[metric]);
  const base = { mode, alias: 'production' as const, metric, lowerIsBetter, candidate: cand };
  if (cand === null) return { ...base, production: null, promote: false, reason: `the candidate has no test metric ${metric}` };
  if (!production) {
    return { ...base, production: null, productionVersion: null, basis: 'no-production-version', promote: true, reason: `if-better: no production version yet; ${metric} ${cand}` };
  }
  let prodValue: number | null;
  let basis: ComparisonBasis = 'candidate-test-split';
  let basisNote: string | undefined;
  try {
    prodValue = await scoreProductionOnTestSplit(production, candidate, metric);
  } catch (e) {
    basis = 'stored-test-metrics';
    basisNote = `could not score version ${production.version} on the candidate's test split: ${(e as Error).message}; compared stored test metrics`;
    prodValue = num(production.metrics?.test?.[metric]);
  }
  const better = prodValue === null ? true : improves(metric, cand, prodValue);
  const cmp = `${metric} ${cand} vs ${prodValue ?? 'n/a'} (version ${production.version}, ${lowerIsBetter ? 'lower' : 'higher'} is better, ${basis})`;
  return {
    ...base,
    production: prodValue,
    productionVersion: production.version,
    basis,
    ...(basisNote ? { basisNote } : {}),
    ...(basis === 'candidate-test-split' ? { rows: candidate.testRowIndices.length } : {}),
    promote: better,
    reason: `if-better: ${better ? 'improves' : 'does not improve'}: ${cmp}`,
  };
}
