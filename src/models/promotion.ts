/**
 * Promotion of a freshly trained version to the `production` alias (`promote` on a training job):
 * the vocabulary a training request is validated against. The decision itself is made by the
 * training job in its worker thread (for `if-better` it scores the current production version on the
 * job's test split there, off the HTTP event loop); the registry only moves the alias with that
 * verdict (`ModelRegistry.applyPromotion`, inside the registration transaction).
 *
 *   never      (default) nothing moves
 *   always     `production` moves to the new version
 *   if-better  `production` moves only if the named metric strictly improves on the new job's test
 *              split (falling back to the stored `metrics.test` of both when the production version
 *              cannot be scored on those rows; `basis` says which)
 */
import type { PromoteMode } from '../contracts';
import { LOWER_IS_BETTER, RECOMMENDER_METRICS, TASK_METRICS } from '../ml';

export type { ComparisonBasis, ProductionVersion, PromoteMode, PromotionDecision } from '../contracts';

export const PROMOTE_MODES = ['never', 'always', 'if-better'] as const satisfies readonly PromoteMode[];

/** Metrics a promotion may compare, per task (scalar keys of metrics.test): the ML kernel's. */
export const PROMOTE_METRICS: Readonly<Record<string, readonly string[]>> = { ...TASK_METRICS, recommendation: RECOMMENDER_METRICS };
export const ALL_PROMOTE_METRICS = [...new Set(Object.values(PROMOTE_METRICS).flat())];

/** Lower is better for these; higher for every other metric. */
export { LOWER_IS_BETTER };
