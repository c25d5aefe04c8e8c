/** The stored shape of a drift report (`drift_reports.report`) and of a model's drift settings. */
import type { DriftReport, FeatureDrift, HistogramComparison, SkippedFeature } from './statistics';

/** The closed loop: on a drift verdict, train again on the dataset's newest ready version. */
export interface OnDriftSettings {
  /** Dataset id: its latest ready version is the training data of the retrain. */
  retrainFromDatasetId: string;
  promote: 'never' | 'always' | 'if-better';
}

export interface DriftSettingsView {
  model: string;
  onDrift: OnDriftSettings | null;
  updatedBy: string | null;
  updatedAt: string | null;
}

/** What the closed loop did on this report. */
export type RetrainOutcome =
  | {
      status: 'queued';
      trainingJobId: string;
      datasetId: string;
      datasetVersionId: string;
      datasetVersion: number;
      promote: OnDriftSettings['promote'];
    }
  | { status: 'skipped' | 'failed'; reason: string; datasetId: string; datasetVersionId?: string };

export interface PredictionDrift {
  /** The training target column the predictions are compared with. */
  target: string;
  task: string | null;
  /** Predicted labels (classification) or values (regression) vs. the target column of the training data. */
  result: FeatureDrift | null;
  skipped: string | null;
  histogram: HistogramComparison | null;
}

export interface StoredDriftReport extends Omit<DriftReport, 'features' | 'skipped'> {
  reference: { datasetVersionId: string; datasetId: string; datasetName: string; datasetVersion: number };
  window: { from: string; to: string; rows: number; requests: number; maxRows: number };
  /** Per input feature: test name, threshold, score, p-value (tests), PSI and verdict. */
  features: FeatureDrift[];
  skipped: SkippedFeature[];
  /** Reference vs. current counts per feature, on the reference's bins / categories (for charts). */
  histograms: Record<string, HistogramComparison>;
  /** Output drift; reported beside the input features, not counted in the dataset-level verdict. */
  prediction: PredictionDrift | null;
  /**
   * Recommender versions: the window's /recommend calls, how many came from users the version never
   * saw (answered with the popularity fallback) and how many items were served. The user feature
   * above compares requests per user, `prediction` the items served (src/audit/drift/recommender-drift.ts).
   */
  recommender?: { requests: number; unknownUsers: number; unknownUserShare: number; itemsServed: number; buckets: number };
  retrain: RetrainOutcome | null;
}

/**
 * One row of drift_reports as the API returns it. `skipped`: the check could say nothing (model not
 * served, too few logged records, no training profile…); `reason` says why and the verdict fields
 * are null (`modelVersion` too when no version was served).
 */
export type DriftReportView = CompletedDriftReportView | SkippedDriftReportView;

export interface CompletedDriftReportView {
  id: string;
  model: string;
  status: 'completed';
  reason: null;
  modelVersion: number;
  createdAt: string;
  windowFrom: string;
  windowTo: string;
  rows: number;
  referenceDatasetVersionId: string;
  drift: boolean;
  driftedShare: number;
  report: StoredDriftReport;
}

export interface SkippedDriftReportView {
  id: string;
  model: string;
  status: 'skipped';
  reason: string;
  modelVersion: number | null;
  createdAt: string;
  windowFrom: null;
  windowTo: null;
  rows: number;
  referenceDatasetVersionId: null;
  drift: null;
  driftedShare: null;
  report: null;
}
