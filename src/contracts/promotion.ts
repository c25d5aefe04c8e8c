/**
 * A training job's promotion of its new version to the `production` alias (`promote` on the job):
 * the training worker decides (scoring the production version on the job's test split for
 * `if-better`), the registry (models) moves the alias inside the registration transaction, and the
 * decision is stored on the training job (`promotion`). Types only.
 */
import type { ModelVersionMetrics, ModelVersionPreprocessing, ModelVersionTarget } from './model-version';

export type PromoteMode = 'never' | 'always' | 'if-better';

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

/** What the registry tells an if-better comparison of the current production version (plain data: it crosses to the worker thread). */
export interface ProductionVersion {
  version: number;
  task: string | null;
  metrics: ModelVersionMetrics | null;
  preprocessing: ModelVersionPreprocessing | null;
  target: ModelVersionTarget | null;
  /** Artifact ids of its model.json and weights. */
  modelJsonSha256: string;
  weightsSha256: string;
}
