import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  CheckpointMismatchError,
  EncodedTensors,
  TrainingCheckpoint,
  decodeCheckpoint,
  decodeTensors,
  encodeTensors,
  optimizerState,
  restoreOptimizer,
} from './checkpoint';
import { Metrics, argmax, chooseThreshold, rocAuc, taskMetrics } from './metrics';
import { PreprocessingSpec, Preprocessor } from './preprocessing';
import { deriveSeed, seededPermutation } from './random';
import { SplitIndices, SplitOptions, splitIndices } from './split';
import { TargetSpec, encodeClasses, encodeNumbers, resolveTarget } from './target';
import {
  Hyperparameters,
  TEMPLATES,
  TemplateName,
  buildModel,
  lossFor,
  outputUnits,
  resolveHyperparameters,
  setDropoutSeeds,
} from './templates';
import { ColumnSchema, DataRecord, EpochProgress, Table, Task, TrainingCancelledError, TrainingSpecError } from './types';

export interface TrainSpec {
  table: Table;
  target: string;
  /** Inferred from the target when omitted (see resolveTarget). */
  task?: Task;
  /** Binary only; default: the minority class. */
  positiveClass?: string | number | boolean;
  /** Default: every column except the target. */
  features?: string[];
  /** Default 'mlp'. */
  template?: TemplateName;
  hyperparameters?: Partial<Hyperparameters>;
  /** Default {validation: 0.15, test: 0.15, stratify: true (classification)}. */
  split?: SplitOptions;
  preprocessing?: { maxCategories?: number };
}

export interface TrainOptions {
  /** Called after every epoch (awaited). */
  onProgress?: (p: EpochProgress) => void | Promise<void>;
  /** Called after every epoch with a resumable checkpoint (awaited: persist it before training goes on). */
  onCheckpoint?: (c: TrainingCheckpoint) => void | Promise<void>;
  /** Continue from a checkpoint of the same spec (a retried job); a TrainingCheckpoint or its encoded bytes. */
  resumeFrom?: TrainingCheckpoint | Buffer;
  /** Checked before every batch: when aborted, training stops and train() rejects with TrainingCancelledError. */
  signal?: AbortSignal;
}

export interface TestPredictions {
  /** Row indices into the input table's `rows`. */
  rowIndices: number[];
  /** Actual labels (classification) or values (regression). */
  yTrue: Array<string | number>;
  /** Predicted labels (binary: at `target.threshold`) or values. */
  yPred: Array<string | number>;
  /** Classification: per-row probabilities in `target.classes` order (binary: [1 − p, p]). */
  probabilities?: number[][];
}

export interface ModelSignature {
  /** Named features for the record API, with their column types. */
  features: Array<{ name: string; type: ColumnSchema['type'] }>;
  inputs: Array<{ name: string; dtype: 'float32'; shape: number[] }>;
  outputs: Array<{ name: string; dtype: 'float32'; shape: number[] }>;
}

export interface TrainResult {
  /** The serving model (no dropout; regression outputs in target units). Save it with artifact-io. */
  model: tfl.LayersModel;
  template: TemplateName;
  hyperparameters: Hyperparameters;
  task: Task;
  /** With `threshold` for binary. Save with the model. */
  target: TargetSpec;
  /** Save with the model; `Preprocessor.fromJSON(preprocessing)` at serving time. */
  preprocessing: PreprocessingSpec;
  signature: ModelSignature;
  metrics: { validation: Metrics; test: Metrics };
  testPredictions: TestPredictions;
  history: EpochProgress[];
  /** 1-based epoch whose weights the model carries (early stopping restores the best). */
  bestEpoch: number;
  epochsCompleted: number;
  stoppedEarly: boolean;
  /** Epochs completed before this run when resumed from a checkpoint, else 0. */
  resumedFromEpoch: number;
  split: SplitIndices;
  /** Rows dropped because the target was missing. */
  droppedRows: number;
  backend: string;
  /** Wall time of train(), ms. */
  durationMs: number;
  /** Training-split rows × epochs run in this call / time in the epoch loop. */
  samplesPerSecond: number;
}

/** Everything resolved and checked from a TrainSpec before any tensor exists. */
export interface PreparedTraining {
  template: TemplateName;
  hp: Hyperparameters;
  target: TargetSpec;
  features: string[];
  /** Row indices (into table.rows) with a usable target. */
  usable: number[];
  split: SplitIndices;
  preprocessor: Preprocessor;
  droppedRows: number;
}

function resolveFeatures(spec: TrainSpec): string[] {
  const cols = spec.table.columns.map((c) => c.name);
  const features = spec.features ?? cols.filter((c) => c !== spec.target);
  if (!Array.isArray(features) || features.length === 0) throw new TrainingSpecError('features', 'at least one feature is needed');
  const seen = new Set<string>();
  for (const f of features) {
    if (f === spec.target) throw new TrainingSpecError('features', `the target '${f}' cannot also be a feature`);
    if (!cols.includes(f)) throw new TrainingSpecError('features', `'${f}' is not a column of the dataset`);
    if (seen.has(f)) throw new TrainingSpecError('features', `'${f}' is listed twice`);
    seen.add(f);
  }
  return features;
}

/** Class weights against the resolved target (also the API's pre-queue check). */
export function checkClassWeights(hp: Hyperparameters, target: TargetSpec): void {
  const classification = target.task !== 'regression';
  if (hp.classWeights && typeof hp.classWeights === 'object') {
    if (!classification) throw new TrainingSpecError('hyperparameters.classWeights', 'only applies to classification');
    for (const k of Object.keys(hp.classWeights)) {
      if (!(target.classes ?? []).includes(k))
        throw new TrainingSpecError(`hyperparameters.classWeights.${k}`, `'${k}' is not a class of the target`);
    }
  } else if (hp.classWeights === 'balanced' && !classification) {
    throw new TrainingSpecError('hyperparameters.classWeights', 'only applies to classification');
  }
}

/** Validates the spec, splits the rows and fits the preprocessing on the training split. */
export function prepareTraining(spec: TrainSpec): PreparedTraining {
  const template = spec.template ?? 'mlp';
  if (!TEMPLATES.includes(template)) throw new TrainingSpecError('template', `must be one of ${TEMPLATES.join(', ')}`);
  const hp = resolveHyperparameters(template, spec.hyperparameters);
  const { table } = spec;
  if (!table || !Array.isArray(table.columns) || !Array.isArray(table.rows)) throw new TrainingSpecError('table', 'needs columns and rows');
  const target = resolveTarget(table.columns, table.rows, spec.target, { task: spec.task, positiveClass: spec.positiveClass });
  const features = resolveFeatures(spec);

  const classification = target.task !== 'regression';
  const yAll = classification ? encodeClasses(target, table.rows) : null;
  const nAll = classification ? null : encodeNumbers(target, table.rows);
  const usable: number[] = [];
  for (let i = 0; i < table.rows.length; i++) {
    if (yAll ? yAll[i] >= 0 : Number.isFinite((nAll as Float64Array)[i])) usable.push(i);
  }
  const strata = yAll ? usable.map((i) => yAll[i]) : undefined;
  const local = splitIndices(usable.length, hp.seed, { stratify: classification, ...spec.split }, classification ? strata : undefined);
  const split: SplitIndices = {
    train: local.train.map((i) => usable[i]),
    validation: local.validation.map((i) => usable[i]),
    test: local.test.map((i) => usable[i]),
  };

  checkClassWeights(hp, target);

  const trainRows = split.train.map((i) => table.rows[i]);
  const preprocessor = Preprocessor.fit(table.columns, trainRows, features, spec.preprocessing);
  if (target.task === 'regression') {
    const ys = split.train.map((i) => (nAll as Float64Array)[i]);
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sd = Math.sqrt(ys.reduce((a, b) => a + (b - mean) * (b - mean), 0) / ys.length);
    target.scale = { mean, std: sd > 1e-12 ? sd : 1 };
  }
  return { template, hp, target, features, usable, split, preprocessor, droppedRows: table.rows.length - usable.length };
}

function fingerprintOf(p: PreparedTraining): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        template: p.template,
        hp: p.hp,
        target: p.target,
        features: p.features,
        sizes: [p.split.train.length, p.split.validation.length, p.split.test.length],
        preprocessing: p.preprocessor.spec,
      }),
    )
    .digest('hex');
}

/** Labels as model targets: binary n×1 of 0/1, multiclass one-hot n×k, regression n×1 standardised. */
function targetMatrix(p: PreparedTraining, rows: DataRecord[]): { y: Float32Array; cols: number; cls?: Int32Array; values?: Float64Array } {
  const n = rows.length;
  if (p.target.task === 'regression') {
    const values = encodeNumbers(p.target, rows);
    const { mean, std } = p.target.scale as { mean: number; std: number };
    return { y: Float32Array.from(values, (v) => (v - mean) / std), cols: 1, values };
  }
  const cls = encodeClasses(p.target, rows);
  if (p.target.task === 'binary') return { y: Float32Array.from(cls), cols: 1, cls };
  const k = (p.target.classes as string[]).length;
  const y = new Float32Array(n * k);
  cls.forEach((c, i) => (y[i * k + c] = 1));
  return { y, cols: k, cls };
}

function classWeightMap(p: PreparedTraining, trainCls: Int32Array): tfl.ClassWeight | undefined {
  const cw = p.hp.classWeights;
  if (!cw || p.target.task === 'regression') return undefined;
  const classes = p.target.classes as string[];
  if (cw === 'balanced') {
    const counts = new Array<number>(classes.length).fill(0);
    trainCls.forEach((c) => counts[c]++);
    const n = trainCls.length;
    return Object.fromEntries(counts.map((c, i) => [i, c > 0 ? n / (classes.length * c) : 1]));
  }
  return Object.fromEntries(classes.map((c, i) => [i, cw[c] ?? 1]));
}

/** Validation loss (unweighted) and metric from predictions of the training model. */
function validationScores(task: Task, pred: Float32Array, y: Float32Array, cols: number, cls: Int32Array | undefined, std: number) {
  const n = y.length / cols;
  const eps = 1e-7; // Keras' epsilon, as the training loss clips
  if (task === 'binary') {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const q = Math.min(1 - eps, Math.max(eps, pred[i]));
      loss -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
    }
    return { valLoss: loss / n, valMetric: rocAuc(y, pred), valMetricName: 'rocAuc' as const };
  }
  if (task === 'multiclass') {
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const row = pred.subarray(i * cols, (i + 1) * cols);
      const c = (cls as Int32Array)[i];
      loss -= Math.log(Math.min(1 - eps, Math.max(eps, row[c])));
      if (argmax(row) === c) correct++;
    }
    return { valLoss: loss / n, valMetric: correct / n, valMetricName: 'accuracy' as const };
  }
  let se = 0;
  for (let i = 0; i < n; i++) se += (pred[i] - y[i]) ** 2;
  return { valLoss: se / n, valMetric: Math.sqrt(se / n) * std, valMetricName: 'rmse' as const };
}

async function modelWeights(model: tfl.LayersModel): Promise<EncodedTensors> {
  return encodeTensors(model.weights.map((w, i) => ({ name: `${i}:${w.originalName}`, tensor: w.read() })));
}

function restoreWeights(model: tfl.LayersModel, enc: EncodedTensors): void {
  const map = decodeTensors(enc);
  const tensors = enc.specs.map((s) => map[s.name]);
  if (tensors.length !== model.weights.length) {
    tf.dispose(tensors);
    throw new CheckpointMismatchError(`checkpoint has ${tensors.length} weights, the model ${model.weights.length}`);
  }
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/** Builds the serving model from the trained one: no dropout; regression target scale folded into the output layer. */
function exportModel(p: PreparedTraining, trained: tfl.LayersModel, shape: Parameters<typeof buildModel>[1]): tfl.LayersModel {
  const serving = buildModel(p.template, shape, p.hp, false);
  tf.tidy(() => {
    const ws = trained.getWeights();
    if (p.target.task === 'regression') {
      const { mean, std } = p.target.scale as { mean: number; std: number };
      const k = ws.length - 2;
      ws[k] = tf.mul(ws[k], std);
      ws[k + 1] = tf.add(tf.mul(ws[k + 1], std), mean);
    }
    serving.setWeights(ws);
  });
  return serving;
}

function permuteRows(m: Float32Array, cols: number, perm: Int32Array): Float32Array {
  const out = new Float32Array(m.length);
  for (let i = 0; i < perm.length; i++) out.set(m.subarray(perm[i] * cols, (perm[i] + 1) * cols), i * cols);
  return out;
}

function predictMatrix(model: tfl.LayersModel, x: Float32Array, rows: number, width: number): Float32Array {
  return tf
    .tidy(() => {
      const out = model.predict(tf.tensor2d(x, [rows, width])) as tf.Tensor;
      return out.dataSync() as Float32Array;
    })
    .slice();
}

function evaluate(
  p: PreparedTraining,
  pred: Float32Array,
  rows: DataRecord[],
  threshold: number | undefined,
): { metrics: Metrics; predictions: Omit<TestPredictions, 'rowIndices'> } {
  const t = p.target;
  if (t.task === 'regression') {
    const yTrue = Array.from(encodeNumbers(t, rows));
    const yPred = Array.from(pred);
    return { metrics: taskMetrics({ task: 'regression', yTrue, yPred }), predictions: { yTrue, yPred } };
  }
  const classes = t.classes as string[];
  const cls = encodeClasses(t, rows);
  const yTrue = Array.from(cls, (c) => classes[c]);
  if (t.task === 'binary') {
    const th = threshold as number;
    return {
      metrics: taskMetrics({ task: 'binary', classes, yTrue: cls, pPositive: pred, threshold: th }),
      predictions: {
        yTrue,
        yPred: Array.from(pred, (q) => (q >= th ? classes[1] : classes[0])),
        probabilities: Array.from(pred, (q) => [1 - q, q]),
      },
    };
  }
  const k = classes.length;
  const probabilities = Array.from({ length: rows.length }, (_, i) => Array.from(pred.subarray(i * k, (i + 1) * k)));
  const predIdx = probabilities.map((r) => argmax(r));
  return {
    metrics: taskMetrics({ task: 'multiclass', classes, yTrue: cls, yPred: predIdx }),
    predictions: { yTrue, yPred: predIdx.map((c) => classes[c]), probabilities },
  };
}

/**
 * Trains a model on an in-memory table: split → preprocessing (fit on train) → template → fit per
 * epoch with seeded shuffling → early stopping with best-weights restore → evaluation on validation
 * and test. Framework-free; the caller initialises the TF.js backend (TfRuntime.init) first.
 *
 * Deterministic on one backend: the same spec (incl. seed) gives the same weights and metrics.
 * Resume: pass the last checkpoint as `resumeFrom`; training continues at the next epoch and ends as
 * the uninterrupted run would have.
 */
export async function train(spec: TrainSpec, opts: TrainOptions = {}): Promise<TrainResult> {
  const started = performance.now();
  const { signal } = opts;
  if (signal?.aborted) throw new TrainingCancelledError(0, 0);
  const p = prepareTraining(spec);
  const { hp, target, preprocessor } = p;
  const rowsOf = (idx: number[]) => idx.map((i) => spec.table.rows[i]);
  const trainRows = rowsOf(p.split.train);
  const valRows = rowsOf(p.split.validation);
  const testRows = rowsOf(p.split.test);
  const width = preprocessor.width;
  const tOpts = { allowExtra: true, allowAbsent: true } as const;
  const xTrain = preprocessor.transform(trainRows, tOpts);
  const xVal = preprocessor.transform(valRows, tOpts);
  const xTest = preprocessor.transform(testRows, tOpts);
  const yTrain = targetMatrix(p, trainRows);
  const yVal = targetMatrix(p, valRows);
  const shape = { inputWidth: width, task: target.task, classes: target.classes?.length };
  const classWeight = classWeightMap(p, yTrain.cls ?? new Int32Array(0));
  const fingerprint = fingerprintOf(p);

  const model = buildModel(p.template, shape, hp, true);
  const nTrain = trainRows.length;
  let serving: tfl.LayersModel | null = null;
  // not owned by the model (model.dispose() leaves it): disposed below
  const optimizer = tf.train.adam(hp.learningRate);
  try {
    model.compile({ optimizer, loss: lossFor(target.task) });

    let history: EpochProgress[] = [];
    let best: { epoch: number; valLoss: number } | null = null;
    let bestWeights: EncodedTensors | null = null;
    let wait = 0;
    let startEpoch = 0;
    if (opts.resumeFrom) {
      const ck = Buffer.isBuffer(opts.resumeFrom) ? decodeCheckpoint(opts.resumeFrom) : opts.resumeFrom;
      if (ck.fingerprint !== fingerprint) throw new CheckpointMismatchError('it was written for a different training spec or data');
      restoreWeights(model, ck.weights);
      if (ck.optimizer) await restoreOptimizer(model.optimizer, ck.optimizer);
      history = [...ck.history];
      best = ck.best;
      bestWeights = ck.bestWeights;
      wait = ck.wait;
      startEpoch = ck.epochsCompleted;
    }
    const resumedFromEpoch = startEpoch;
    const stoppedEarlyAlready = hp.earlyStoppingPatience > 0 && wait >= hp.earlyStoppingPatience;

    const loopStart = performance.now();
    let epochsRun = 0;
    let stoppedEarly = stoppedEarlyAlready;
    for (let epoch = startEpoch; epoch < hp.epochs && !stoppedEarly; epoch++) {
      if (signal?.aborted) throw new TrainingCancelledError(epoch + 1, 0);
      // seeded shuffle, rows permuted in JS (one copy; cheaper than a gather kernel on wasm)
      const perm = seededPermutation(nTrain, deriveSeed(hp.seed, 0xe90c, epoch));
      const xE = tf.tensor2d(permuteRows(xTrain, width, perm), [nTrain, width]);
      const yE = tf.tensor2d(permuteRows(yTrain.y, yTrain.cols, perm), [nTrain, yTrain.cols]);
      let h: tfl.History;
      try {
        h = await model.fit(xE, yE, {
          epochs: 1,
          batchSize: hp.batchSize,
          shuffle: false,
          verbose: 0,
          classWeight,
          callbacks: {
            onBatchBegin: async (batch: number) => {
              if (signal?.aborted) throw new TrainingCancelledError(epoch + 1, batch);
              setDropoutSeeds(model, hp.seed, epoch, batch);
            },
          },
        });
      } finally {
        xE.dispose();
        yE.dispose();
      }
      epochsRun++;
      const loss = Number(h.history.loss[0]);
      const valPred = predictMatrix(model, xVal, valRows.length, width);
      const scores = validationScores(target.task, valPred, yVal.y, yVal.cols, yVal.cls, target.scale?.std ?? 1);
      const progress: EpochProgress = { epoch: epoch + 1, epochs: hp.epochs, loss, ...scores };
      history.push(progress);

      if (best === null || scores.valLoss < best.valLoss) {
        best = { epoch: epoch + 1, valLoss: scores.valLoss };
        bestWeights = await modelWeights(model);
        wait = 0;
      } else {
        wait++;
        if (hp.earlyStoppingPatience > 0 && wait >= hp.earlyStoppingPatience) stoppedEarly = true;
      }
      if (opts.onProgress) await opts.onProgress(progress);
      if (opts.onCheckpoint) {
        await opts.onCheckpoint({
          formatVersion: 1,
          fingerprint,
          epochsCompleted: epoch + 1,
          history: [...history],
          best,
          wait,
          weights: await modelWeights(model),
          bestWeights,
          optimizer: await optimizerState(model.optimizer),
        });
      }
    }
    const loopMs = performance.now() - loopStart;
    if (signal?.aborted) throw new TrainingCancelledError(history.length, 0);

    // best-weights restore (early stopping or a later epoch that overfit)
    if (bestWeights && best && best.epoch !== history.length) restoreWeights(model, bestWeights);
    serving = exportModel(p, model, shape);

    const valOut = predictMatrix(serving, xVal, valRows.length, width);
    const testOut = predictMatrix(serving, xTest, testRows.length, width);
    if (target.task === 'binary') {
      target.threshold = chooseThreshold(encodeClasses(target, valRows), valOut);
    }
    const validation = evaluate(p, valOut, valRows, target.threshold);
    const test = evaluate(p, testOut, testRows, target.threshold);

    const preprocessingSpec = preprocessor.toJSON();
    const units = outputUnits(shape);
    const signature: ModelSignature = {
      features: p.features.map((name) => ({ name, type: (spec.table.columns.find((c) => c.name === name) as ColumnSchema).type })),
      inputs: [{ name: 'features', dtype: 'float32', shape: [-1, width] }],
      outputs: [{ name: target.task === 'regression' ? 'value' : 'probabilities', dtype: 'float32', shape: [-1, units] }],
    };
    serving.setUserDefinedMetadata({ kiln: { formatVersion: 1, target, preprocessing: preprocessingSpec, signature } } as unknown as {});

    const result: TrainResult = {
      model: serving,
      template: p.template,
      hyperparameters: hp,
      task: target.task,
      target,
      preprocessing: preprocessingSpec,
      signature,
      metrics: { validation: validation.metrics, test: test.metrics },
      testPredictions: { rowIndices: [...p.split.test], ...test.predictions },
      history,
      bestEpoch: best?.epoch ?? history.length,
      epochsCompleted: history.length,
      stoppedEarly,
      resumedFromEpoch,
      split: p.split,
      droppedRows: p.droppedRows,
      backend: tf.getBackend(),
      durationMs: performance.now() - started,
      samplesPerSecond: epochsRun > 0 ? (nTrain * epochsRun) / (loopMs / 1000) : 0,
    };
    serving = null; // handed to the caller
    return result;
  } finally {
    model.dispose();
    optimizer.dispose();
    serving?.dispose();
  }
}
