/**
 * Typed views of a model version's JSON columns (`model_versions.signature`, `preprocessing`,
 * `target`, `metrics`): the registry (models) stores them, inference, audit and training's if-better
 * comparison read them. Types only. The shapes of preprocessing, target and metrics are the ML
 * kernel's (src/ml writes them at training time); they are re-exported here as types.
 */
import type { Metrics, PreprocessingSpec, TargetSpec } from '../ml';
import type { ColumnType } from './dataset-profile';

export type ModelTensorDtype = 'float32' | 'int32' | 'bool' | 'string';

/** A signature tensor; `-1` marks a variable dimension (the batch dimension is always `-1`). */
export interface ModelTensorSpec {
  name: string;
  dtype: ModelTensorDtype;
  shape: number[];
}

/** Trained versions: the kernel's ModelSignature (with `features`); imported versions: the uploaded inputs/outputs. */
export interface ModelVersionSignature {
  /** Kiln-trained versions: the named source features of the record API, with their column types. */
  features?: Array<{ name: string; type: ColumnType }>;
  inputs: ModelTensorSpec[];
  outputs: ModelTensorSpec[];
}

/** Trained versions: the fitted preprocessing (`Preprocessor.fromJSON`); null for imported ones. */
export type ModelVersionPreprocessing = PreprocessingSpec;

/** Trained versions: target column, task, classes, positive class, threshold; null for imported ones. */
export type ModelVersionTarget = TargetSpec;

/** Trained versions: metrics on the training job's validation and test splits; null for imported ones. */
export interface ModelVersionMetrics {
  validation: Metrics;
  test: Metrics;
}
