import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as ml from '../../ml';
import { defaultBaseline, featureColumns } from './feature-columns';
import { pathQuadrature } from './quadrature';
import { reluKinks } from './relu-kinks';

/**
 * Per-feature explanations of a Kiln-trained model's predictions by integrated gradients
 * (Sundararajan, Taly & Yan 2017): attribution_j = (x_j − b_j) · ∫₀¹ ∂F/∂x_j(b + α(x − b)) dα for each
 * preprocessed input column j, summed over the columns of each source feature (its one-hot and
 * missing-indicator columns included). By completeness the attributions add up to F(x) − F(b).
 *
 * What F is (`Explanation.output`):
 *   binary      P(positive class)              'probability:<positiveClass>' (or `outputClass`)
 *   multiclass  P(predicted class) for the row  'probability:<class>'         (or `outputClass`)
 *   regression  the predicted value             'value' (target units)
 *
 * How: one forward pass over a uniform grid of each row's path finds where the model's ReLUs switch
 * (relu-kinks.ts); the path is cut into `steps` equal intervals and again at those switches, and each
 * piece gets 2-point Gauss–Legendre (quadrature.ts). Between switches the integrand is smooth: with
 * 64 steps, mlp models on vega-datasets penguins/movies met completeness to ~1e-6 relative (median;
 * worst row 2e-4), where plain 64-node Gauss–Legendre or trapezoid rules, straddling the gradient's
 * jumps, were off by up to 5e-3 (penguins) and 4e-2 (movies). Then all rows' path points go
 * through the model in ONE batch and one `tf.valueAndGrad`, inside `tf.tidy`; the weighted gradient
 * sums are accumulated in float64. `delta` reports the remaining completeness error.
 *
 * Bounds: 1…MAX_EXPLAIN_ROWS rows and 1…MAX_EXPLAIN_STEPS steps per call, and at most
 * MAX_EXPLAIN_PATH_POINTS points in the batch (each row takes 2·(steps + ReLU switches) + 2; memory is
 * points × preprocessed width floats). Past a bound: ExplainInputError naming `rows` or `steps`; a
 * caller with more rows calls once per chunk.
 */
export const DEFAULT_EXPLAIN_STEPS = 64;
export const MAX_EXPLAIN_STEPS = 256;
export const MAX_EXPLAIN_ROWS = 100;
export const MAX_EXPLAIN_PATH_POINTS = 65_536;

export interface ExplainOptions {
  /** Equal intervals of the path, 1…MAX_EXPLAIN_STEPS (each piece of it costs 2 gradient evaluations); default 64. */
  steps?: number;
  /** The reference input, preprocessed (`width` values); default `defaultBaseline(preprocessing)`. */
  baseline?: Float32Array;
  /** Classification: explain this class's probability instead of the default (see above). */
  outputClass?: string;
}

export interface Explanation {
  method: 'integrated-gradients';
  steps: number;
  /** What is explained: 'probability:<class>' or 'value'. */
  output: string;
  /** The explained output at the baseline. */
  baseline: number;
  /** The explained output at the row. */
  prediction: number;
  /** Per source feature; they add up to prediction − baseline (up to `delta`). */
  attributions: Record<string, number>;
  /** Completeness error: sum(attributions) − (prediction − baseline). */
  delta: number;
}

/** A caller's input or option is out of range; `field` names it (for a 400). */
export class ExplainInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ExplainInputError';
  }
}

/** The model output to explain: per row, which column of the probability matrix (or the value). */
interface ExplainedOutput {
  label: (row: number) => string;
  /** Row → column of `probabilities(y)`; null for regression. */
  classOf: ((row: number) => number) | null;
}

function checkInputs(preprocessing: ml.PreprocessingSpec, x: Float32Array, rows: number, baseline: Float32Array, steps: number): void {
  const w = preprocessing.width;
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_EXPLAIN_STEPS) {
    throw new ExplainInputError('steps', `must be an integer from 1 to ${MAX_EXPLAIN_STEPS}, got ${steps}`);
  }
  if (!Number.isInteger(rows) || rows < 1 || rows > MAX_EXPLAIN_ROWS) {
    throw new ExplainInputError('rows', `explanations are computed for 1 to ${MAX_EXPLAIN_ROWS} records per call, got ${rows}`);
  }
  if (x.length !== rows * w) throw new ExplainInputError('x', `expected ${rows} × ${w} = ${rows * w} values, got ${x.length}`);
  if (baseline.length !== w)
    throw new ExplainInputError('baseline', `expected ${w} values (the preprocessed width), got ${baseline.length}`);
  if (!x.every(Number.isFinite)) throw new ExplainInputError('x', 'contains a non-finite value');
  if (!baseline.every(Number.isFinite)) throw new ExplainInputError('baseline', 'contains a non-finite value');
}

/** Class probabilities as a matrix (binary: [1 − p, p]) or the regression value as one column. */
function probabilities(target: ml.TargetSpec, y: tf.Tensor): tf.Tensor2D {
  const y2 = tf.reshape(y, [y.shape[0] as number, -1]) as tf.Tensor2D;
  return target.task === 'binary' ? (tf.concat([tf.sub(1, y2), y2], 1) as tf.Tensor2D) : y2;
}

function forward(model: tfl.LayersModel, input: tf.Tensor2D): tf.Tensor {
  const y = model.apply(input, { training: false });
  return Array.isArray(y) ? (y[0] as tf.Tensor) : (y as tf.Tensor);
}

function explainedOutput(
  model: tfl.LayersModel,
  target: ml.TargetSpec,
  x: Float32Array,
  rows: number,
  width: number,
  outputClass?: string,
): ExplainedOutput {
  if (target.task === 'regression') {
    if (outputClass !== undefined) throw new ExplainInputError('outputClass', 'only applies to classification models');
    return { label: () => 'value', classOf: null };
  }
  const classes = target.classes ?? [];
  if (outputClass !== undefined) {
    const k = classes.indexOf(outputClass);
    if (k < 0) throw new ExplainInputError('outputClass', `'${outputClass}' is not a class of the model (classes: ${classes.join(', ')})`);
    return { label: () => `probability:${outputClass}`, classOf: () => k };
  }
  if (target.task === 'binary') return { label: () => `probability:${classes[1]}`, classOf: () => 1 };
  // multiclass: the predicted class of each row (argmax, as predictRecords labels it)
  let predicted: ArrayLike<number> = [];
  tf.tidy(() => {
    predicted = tf.argMax(forward(model, tf.tensor2d(x, [rows, width])), 1).dataSync();
  });
  return { label: (r) => `probability:${classes[predicted[r]]}`, classOf: (r) => predicted[r] };
}

/**
 * Explains `rows` preprocessed rows (row-major `x`, rows × preprocessing.width) of a Kiln-trained
 * layers model. Returns one Explanation per row. Throws ExplainInputError (field, reason) on bad
 * options or sizes.
 */
export function explainRecords(
  model: tfl.LayersModel,
  preprocessing: ml.PreprocessingSpec,
  target: ml.TargetSpec,
  x: Float32Array,
  rows: number,
  opts: ExplainOptions = {},
): Explanation[] {
  const steps = opts.steps ?? DEFAULT_EXPLAIN_STEPS;
  const width = preprocessing.width;
  const baseline = opts.baseline ?? defaultBaseline(preprocessing);
  checkInputs(preprocessing, x, rows, baseline, steps);
  const inputWidth = model.inputs[0]?.shape[1];
  if (inputWidth !== width) throw new Error(`model input width ${String(inputWidth)} does not match the preprocessing width ${width}`);
  const columns = featureColumns(preprocessing);
  const explained = explainedOutput(model, target, x, rows, width, opts.outputClass);

  const kinks = reluKinks(model, x, baseline, rows, width, steps);
  const rules = kinks.map((k) => pathQuadrature(steps, k));
  const offsets = [0];
  for (const q of rules) offsets.push(offsets[offsets.length - 1] + q.alphas.length);
  const n = offsets[rows];
  if (n > MAX_EXPLAIN_PATH_POINTS) {
    throw new ExplainInputError(
      'rows',
      `these ${rows} rows need ${n} path points with ${steps} steps (at most ${MAX_EXPLAIN_PATH_POINTS}); send fewer rows or steps`,
    );
  }
  const rowOf = new Int32Array(n);
  const alphas = new Float32Array(n);
  const weights = new Float64Array(n);
  rules.forEach((q, r) => {
    rowOf.fill(r, offsets[r], offsets[r + 1]);
    alphas.set(q.alphas, offsets[r]);
    weights.set(q.weights, offsets[r]);
  });

  // Results leave the tidy through these (typed arrays returned from tf.tidy are walked element by element).
  let grads: ArrayLike<number> = [];
  let values: ArrayLike<number> = [];
  tf.tidy(() => {
    const xs = tf.tensor2d(x, [rows, width]);
    const b = tf.tensor2d(baseline, [1, width]);
    const rowIndex = tf.tensor1d(rowOf, 'int32');
    const a = tf.tensor2d(alphas, [n, 1]);
    // α·x + (1 − α)·b: exactly b at α = 0 and exactly x at α = 1
    const path = tf.add(tf.mul(a, tf.gather(xs, rowIndex)), tf.mul(tf.sub(1, a), b)) as tf.Tensor2D;
    const mask = explained.classOf
      ? tf.oneHot(
          tf.tensor1d(Int32Array.from(rowOf, explained.classOf), 'int32'),
          target.task === 'binary' ? 2 : (target.classes ?? []).length,
        )
      : null;
    const f = (input: tf.Tensor2D): tf.Tensor1D => {
      const out = probabilities(target, forward(model, input));
      return (mask ? tf.sum(tf.mul(out, mask), 1) : tf.reshape(out, [-1])) as tf.Tensor1D;
    };
    const { value, grad } = tf.valueAndGrad(f)(path);
    grads = grad.dataSync();
    values = value.dataSync();
  });

  const out: Explanation[] = [];
  for (let r = 0; r < rows; r++) {
    // (x_j − b_j) · Σ_i w_i ∂F/∂x_j(path_i), accumulated in float64
    const column = new Float64Array(width);
    for (let i = offsets[r]; i < offsets[r + 1]; i++) {
      const w = weights[i];
      if (w === 0) continue;
      for (let j = 0; j < width; j++) column[j] += w * grads[i * width + j];
    }
    const attributions: Record<string, number> = {};
    let sum = 0;
    for (const c of columns) {
      let s = 0;
      for (let j = c.start; j < c.start + c.width; j++) s += column[j] * (x[r * width + j] - baseline[j]);
      attributions[c.feature] = s;
      sum += s;
    }
    const base = values[offsets[r]];
    const prediction = values[offsets[r + 1] - 1];
    out.push({
      method: 'integrated-gradients',
      steps,
      output: explained.label(r),
      baseline: base,
      prediction,
      attributions,
      delta: sum - (prediction - base),
    });
  }
  return out;
}
