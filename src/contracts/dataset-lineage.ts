/**
 * Where a dataset version's rows came from, when another Kiln job produced them. Stored on the
 * version (`dataset_versions.lineage`), shown by the datasets API and read by training, which refuses
 * to learn a target from the columns a model's predictions of that same target filled in.
 * Shared shape (no logic): batch predictions write it, ingestion stores it, training reads it.
 */
/**
 * Rows written by a batch prediction. `kind: 'batch-scoring'` is stored in `dataset_versions.lineage`
 * and returned by the API, so it keeps its old name (like the frozen queue and job names); the type
 * is named after its kind. Everything else says "batch prediction".
 */
export interface BatchScoringLineage {
  kind: 'batch-scoring';
  batchPredictionId: string;
  model: string;
  modelVersion: number;
  /** The model's target column: the one the scored columns predict. */
  target: string | null;
  inputDatasetId: string;
  inputDatasetVersionId: string;
  /** The columns the scoring run added (prediction, probability_<class>…, score). */
  scoredColumns: string[];
}

export type DatasetLineage = BatchScoringLineage;
