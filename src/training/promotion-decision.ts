/**
 * The promotion verdict of a training job (`promote` on the job), made in its worker thread right
 * after training, so that scoring the production model never runs on the HTTP event loop:
 *
 *   never      (default) no decision, nothing moves
 *   always     `production` moves to the new version
 *   if-better  the current `production` version is loaded from the artifact store with its saved
 *              preprocessing and target spec and scored on the NEW job's test rows (the same rows the
 *              candidate's `metrics.test` come from); `production` moves only if the named metric
 *              strictly improves. When the production version cannot be scored on those rows (an
 *              imported model without preprocessing, features missing from the table, an unknown
 *              class label, a different task) the stored `metrics.test` of both are compared instead,
 *              and `basis` says so: 'stored-test-metrics' rather than 'candidate-test-split'.
 *
 * The registry applies the verdict inside the registration transaction (`ModelRegistry.applyPromotion`).
 * Imports only the ML kernel, platform/tfjs and contract types: it runs in the training worker thread.
 */
import type { ComparisonBasis, ProductionVersion, PromoteMode, PromotionDecision } from '../contracts';
import { evaluateRecords, LOWER_IS_BETTER, UnknownLabelError, type DataRecord, type Metrics } from '../ml';
import { loadModelFromBytes, type ModelBytes } from '../platform/tfjs/artifact-io';

export function defaultPromoteMetric(task: string): string {
  return task === 'binary' ? 'rocAuc' : task === 'multiclass' ? 'macroF1' : 'rmse';
}

export function improves(metric: string, candidate: number, production: number): boolean {
  if (!Number.isFinite(candidate)) return false;
  if (!Number.isFinite(production)) return true;
  return LOWER_IS_BETTER.has(metric) ? candidate < production : candidate > production;
}

/** The production version and how to read its model bytes (the training worker reads the artifact store itself). */
export interface ScorableProduction extends ProductionVersion {
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

/**
 * Scores the production version on the candidate's test rows (TF.js already initialised by the training thread); throws
 * with a reason when it cannot.
 */
export async function scoreProductionOnTestSplit(prod: ScorableProduction, c: CandidateEvaluation, metric: string): Promise<number> {
  if (prod.task !== c.task) throw new Error(`production version is a ${prod.task ?? 'untyped'} model, the candidate ${c.task}`);
  if (!prod.preprocessing || !prod.target) throw new Error('production version has no saved preprocessing/target (imported model)');
  const pre = prod.preprocessing;
  const names = pre.features.map((f) => f.name);
  const first = c.rows[c.testRowIndices[0]];
  const absent = first ? names.filter((n) => !(n in first)) : [];
  if (absent.length) throw new Error(`the candidate's table lacks production feature(s) ${absent.join(', ')}`);
  const records = c.testRowIndices.map((i) => Object.fromEntries(names.map((n) => [n, c.rows[i][n] ?? null])));
  const loaded = await loadModelFromBytes(await prod.load());
  try {
    let m: Metrics;
    try {
      m = evaluateRecords(loaded.model, pre, prod.target, records, c.testYTrue);
    } catch (e) {
      if (e instanceof UnknownLabelError)
        throw new Error(`test label '${String(e.label)}' is not a class of the production version`, { cause: e });
      throw e;
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
  production: ScorableProduction | null,
): Promise<PromotionDecision | null> {
  if (mode === 'never') return null;
  if (mode === 'always') return { mode, alias: 'production', promote: true, reason: 'promote=always' };
  const metric = metricName ?? defaultPromoteMetric(candidate.task);
  const lowerIsBetter = LOWER_IS_BETTER.has(metric);
  const cand = num(candidate.testMetrics[metric]);
  const base = { mode, alias: 'production' as const, metric, lowerIsBetter, candidate: cand };
  if (cand === null) return { ...base, production: null, promote: false, reason: `the candidate has no test metric ${metric}` };
  if (!production) {
    const reason = `if-better: no production version yet; ${metric} ${cand}`;
    return { ...base, production: null, productionVersion: null, basis: 'no-production-version', promote: true, reason };
  }
  let prodValue: number | null;
  let basis: ComparisonBasis = 'candidate-test-split';
  let basisNote: string | undefined;
  try {
    prodValue = await scoreProductionOnTestSplit(production, candidate, metric);
  } catch (e) {
    basis = 'stored-test-metrics';
    const why = (e as Error).message;
    basisNote = `could not score version ${production.version} on the candidate's test split: ${why}; compared stored test metrics`;
    prodValue = num((production.metrics?.test as unknown as Record<string, unknown> | undefined)?.[metric]);
  }
  const better = prodValue === null ? true : improves(metric, cand, prodValue);
  const direction = lowerIsBetter ? 'lower' : 'higher';
  const cmp = `${metric} ${cand} vs ${prodValue ?? 'n/a'} (version ${production.version}, ${direction} is better, ${basis})`;
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
