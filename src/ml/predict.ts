import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { argmax } from './metrics';
import { PreprocessingSpec, Preprocessor } from './preprocessing';
import { TargetSpec } from './target';

/**
 * Serving-side counterpart of train(): named-feature records in, labelled outputs out, with the
 * exact preprocessing saved at training time. The inference domain's record API calls this (or its
 * pieces: Preprocessor.transform → model.predict → decodeOutputs) so predictions at serving time equal
 * the ones the training-time evaluation scored.
 */
export interface RecordPrediction {
  /** Classification: the predicted class (binary: at the stored threshold). */
  label?: string;
  /** Classification: probability per class label. */
  probabilities?: Record<string, number>;
  /** Regression: the predicted value. */
  value?: number;
}

/** Model outputs (row-major, rows × units) → labelled predictions. */
export function decodeOutputs(target: TargetSpec, out: ArrayLike<number>, rows: number): RecordPrediction[] {
  const res: RecordPrediction[] = [];
  if (target.task === 'regression') {
    for (let i = 0; i < rows; i++) res.push({ value: out[i] });
    return res;
  }
  const classes = target.classes as string[];
  if (target.task === 'binary') {
    const th = target.threshold ?? 0.5;
    for (let i = 0; i < rows; i++) {
      const p = out[i];
      res.push({ label: p >= th ? classes[1] : classes[0], probabilities: { [classes[0]]: 1 - p, [classes[1]]: p } });
    }
    return res;
  }
  const k = classes.length;
  for (let i = 0; i < rows; i++) {
    const row = Array.from({ length: k }, (_, j) => out[i * k + j]);
    res.push({ label: classes[argmax(row)], probabilities: Object.fromEntries(classes.map((c, j) => [c, row[j]])) });
  }
  return res;
}

/** Any model with a tensor-in/tensor-out predict (layers model; a graph model works the same). */
export interface PredictModel {
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
}

function firstOutput(y: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): tf.Tensor {
  if (y instanceof tf.Tensor) return y;
  if (Array.isArray(y)) return y[0];
  return Object.values(y)[0];
}

/**
 * Validates (throws RecordValidationError naming record, feature, reason), transforms and predicts.
 * Strict by default: unknown keys and absent features are errors; send null for a missing value.
 */
export function predictRecords(
  model: PredictModel | tfl.LayersModel | { predict(x: tf.Tensor, config?: object): unknown },
  preprocessing: Preprocessor | PreprocessingSpec,
  target: TargetSpec,
  records: readonly unknown[],
): RecordPrediction[] {
  const pre = preprocessing instanceof Preprocessor ? preprocessing : Preprocessor.fromJSON(preprocessing);
  const x = pre.transform(records);
  const out = tf.tidy(() => {
    const y = (model as PredictModel).predict(tf.tensor2d(x, [records.length, pre.width]));
    return firstOutput(y).dataSync().slice();
  });
  return decodeOutputs(target, out, records.length);
}
