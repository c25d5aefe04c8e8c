/**
 * Typed views of a model version's JSON columns (`model_versions.signature`, `preprocessing`,
 * `target`, `metrics`): the registry (models) stores them, inference, audit and training's if-better
 * comparison read them. Types only. The shapes of preprocessing, target and metrics are the ML
 * kernel's (src/ml writes them at training time); they are re-exported here as types.
 */
import type { Metrics, PreprocessingSpec, RecommenderMetrics, TargetSpec } from '../ml';
import type { ColumnType } from './dataset-profile';

/** int64 and float64: imported ONNX graphs only (TF.js has neither). */
export type ModelTensorDtype = 'float32' | 'int32' | 'bool' | 'string' | 'int64' | 'float64';

/** A signature tensor; `-1` marks a variable dimension (the batch dimension is always `-1`). */
export interface ModelTensorSpec {
  name: string;
  dtype: ModelTensorDtype;
  shape: number[];
  /** Named signatures of imported graph models: the graph tensor behind the name (default: the name). */
  tensor?: string;
}

/**
 * One more SignatureDef of an imported graph model beside the default (`inputs`/`outputs`, served as
 * `serving_default`), as a SavedModel has several (TF Serving's half_plus_two: `regress_x_to_y`,
 * `classify_x_to_y`, …). `classify` and `regress` signatures take named features (`:classify` /
 * `:regress` examples), one input per feature.
 */
export interface ModelSignatureDef {
  method: 'predict' | 'classify' | 'regress';
  inputs: ModelTensorSpec[];
  outputs: ModelTensorSpec[];
}

/** Trained versions: the kernel's ModelSignature (with `features`); imported versions: the uploaded inputs/outputs. */
export interface ModelVersionSignature {
  /** Kiln-trained versions: the named source features of the record API, with their column types. */
  features?: Array<{ name: string; type: ColumnType }>;
  inputs: ModelTensorSpec[];
  outputs: ModelTensorSpec[];
  /** Imported graph models: further signatures by name (never `serving_default`, which is inputs/outputs). */
  signatures?: Record<string, ModelSignatureDef>;
}

/** Trained versions: the fitted preprocessing (`Preprocessor.fromJSON`); null for imported ones. */
export type ModelVersionPreprocessing = PreprocessingSpec;

/** Trained versions: target column, task, classes, positive class, threshold; null for imported ones. */
export type ModelVersionTarget = TargetSpec;

/** Trained versions: metrics on the training job's validation and test splits; null for imported ones. */
export interface ModelVersionMetrics {
  validation: Metrics | RecommenderMetrics;
  test: Metrics | RecommenderMetrics;
}

/**
 * Recommender versions (task `recommendation`): the serving model maps a user index to a score per
 * item; `indexSha256` is the JSON artifact with the id vocabularies, seen items and popularity
 * (the ML kernel's RecommenderIndex). Null for every other version.
 */
export interface ModelVersionRecommender {
  feedback: 'explicit' | 'implicit';
  columns: { user: string; item: string; rating?: string; timestamp?: string };
  users: number;
  items: number;
  embeddingSize: number;
  indexSha256: string;
}
