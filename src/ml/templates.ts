import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from './random';
import { Task, TrainingSpecError } from './types';

export type TemplateName = 'mlp' | 'linear';
export const TEMPLATES: readonly TemplateName[] = ['mlp', 'linear'];

export interface Hyperparameters {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Hidden layer widths (mlp); always [] for linear. */
  hiddenUnits: number[];
  /** Dropout rate after each hidden layer (mlp), 0 ≤ dropout < 1. */
  dropout: number;
  /** L2 penalty on kernels. */
  l2: number;
  /** Stop after this many epochs without a validation-loss improvement (0 = never); best weights are restored. */
  earlyStoppingPatience: number;
  /** Classification only: 'balanced' (n / (k · count)), a {class label: weight} map, or null. */
  classWeights: 'balanced' | Record<string, number> | null;
  seed: number;
}

export const DEFAULT_HYPERPARAMETERS: Record<TemplateName, Hyperparameters> = {
  mlp: {
    epochs: 50,
    batchSize: 32,
    learningRate: 0.001,
    hiddenUnits: [64, 32],
    dropout: 0.1,
    l2: 1e-4,
    earlyStoppingPatience: 5,
    classWeights: null,
    seed: 42,
  },
  linear: {
    epochs: 50,
    batchSize: 32,
    learningRate: 0.01,
    hiddenUnits: [],
    dropout: 0,
    l2: 1e-4,
    earlyStoppingPatience: 5,
    classWeights: null,
    seed: 42,
  },
};

function check(cond: boolean, field: string, reason: string): void {
  if (!cond) throw new TrainingSpecError(`hyperparameters.${field}`, reason);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Fills defaults for the template and validates every value (TrainingSpecError names the field). */
export function resolveHyperparameters(template: TemplateName, given: Partial<Hyperparameters> = {}): Hyperparameters {
  if (!TEMPLATES.includes(template)) throw new TrainingSpecError('template', `must be one of ${TEMPLATES.join(', ')}`);
  const known = new Set(Object.keys(DEFAULT_HYPERPARAMETERS.mlp));
  for (const k of Object.keys(given)) {
    if (!known.has(k)) throw new TrainingSpecError(`hyperparameters.${k}`, 'unknown hyperparameter');
  }
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<Hyperparameters>;
  const hp: Hyperparameters = { ...DEFAULT_HYPERPARAMETERS[template], ...defined };
  check(isInt(hp.epochs) && hp.epochs >= 1 && hp.epochs <= 10_000, 'epochs', 'must be an integer from 1 to 10000');
  check(isInt(hp.batchSize) && hp.batchSize >= 1 && hp.batchSize <= 65_536, 'batchSize', 'must be an integer from 1 to 65536');
  check(isNum(hp.learningRate) && hp.learningRate > 0 && hp.learningRate <= 10, 'learningRate', 'must be a number in (0, 10]');
  check(Array.isArray(hp.hiddenUnits) && hp.hiddenUnits.length <= 16, 'hiddenUnits', 'must be an array of at most 16 layer widths');
  hp.hiddenUnits.forEach((u, i) => check(isInt(u) && u >= 1 && u <= 4096, `hiddenUnits[${i}]`, 'must be an integer from 1 to 4096'));
  check(isNum(hp.dropout) && hp.dropout >= 0 && hp.dropout < 1, 'dropout', 'must be a number in [0, 1)');
  check(isNum(hp.l2) && hp.l2 >= 0, 'l2', 'must be a number ≥ 0');
  check(isInt(hp.earlyStoppingPatience) && hp.earlyStoppingPatience >= 0, 'earlyStoppingPatience', 'must be an integer ≥ 0 (0 disables)');
  check(isInt(hp.seed) && hp.seed >= 0 && hp.seed <= 0xffffffff, 'seed', 'must be an integer from 0 to 2^32-1');
  const cw = hp.classWeights;
  if (cw !== null && cw !== 'balanced') {
    check(typeof cw === 'object' && !Array.isArray(cw), 'classWeights', "must be 'balanced', null or a {class: weight} object");
    for (const [k, v] of Object.entries(cw)) check(isNum(v) && v > 0, `classWeights.${k}`, 'must be a positive number');
  }
  if (template === 'linear') {
    check(hp.hiddenUnits.length === 0, 'hiddenUnits', 'the linear template has no hidden layers');
    check(hp.dropout === 0, 'dropout', 'the linear template has no dropout');
  }
  return { ...hp, hiddenUnits: [...hp.hiddenUnits] };
}

/**
 * Dropout whose mask comes from a seed the trainer sets before every batch (from job seed, epoch and
 * batch), so training is reproducible and a resumed job replays the same masks. tfjs's own Dropout
 * with a seed repeats one mask on every batch, and without a seed uses Math.random.
 * Only the training model has it: the exported (serving) model has no dropout layers.
 */
export class SeededDropout extends tfl.layers.Layer {
  static readonly className = 'KilnSeededDropout';
  readonly rate: number;
  stepSeed = 0;

  constructor(args: { rate: number; name?: string }) {
    super({ name: args.name });
    this.rate = args.rate;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs['training'] !== true || this.rate === 0) return x.clone();
    return tf.dropout(x, this.rate, undefined, this.stepSeed);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(SeededDropout);

export interface ModelShape {
  inputWidth: number;
  task: Task;
  /** Number of classes (multiclass). */
  classes?: number;
}

export function outputUnits(shape: ModelShape): number {
  return shape.task === 'multiclass' ? (shape.classes as number) : 1;
}

/**
 * Builds the template's network. `forTraining` adds the seeded dropout layers; the serving variant has
 * the same weights in the same order without them. Layer names are fixed so weights line up by name.
 */
export function buildModel(template: TemplateName, shape: ModelShape, hp: Hyperparameters, forTraining: boolean): tfl.Sequential {
  const model = tfl.sequential({ name: `kiln_${template}` });
  const reg = hp.l2 > 0 ? tfl.regularizers.l2({ l2: hp.l2 }) : undefined;
  const hidden = template === 'mlp' ? hp.hiddenUnits : [];
  hidden.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        name: `hidden_${i}`,
        units,
        activation: 'relu',
        inputShape: i === 0 ? [shape.inputWidth] : undefined,
        kernelInitializer: tfl.initializers.heUniform({ seed: deriveSeed(hp.seed, 0x1a7e, i) }),
        biasInitializer: 'zeros',
        kernelRegularizer: reg,
      }),
    );
    if (forTraining && hp.dropout > 0) model.add(new SeededDropout({ rate: hp.dropout, name: `dropout_${i}` }));
  });
  const activation = shape.task === 'binary' ? 'sigmoid' : shape.task === 'multiclass' ? 'softmax' : 'linear';
  model.add(
    tfl.layers.dense({
      name: 'output',
      units: outputUnits(shape),
      activation,
      inputShape: hidden.length === 0 ? [shape.inputWidth] : undefined,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(hp.seed, 0x1a7e, 999) }),
      biasInitializer: 'zeros',
      kernelRegularizer: reg,
    }),
  );
  return model;
}

export function lossFor(task: Task): string {
  return task === 'binary' ? 'binaryCrossentropy' : task === 'multiclass' ? 'categoricalCrossentropy' : 'meanSquaredError';
}

/** Sets the seeds of every SeededDropout in the model for the coming batch. */
export function setDropoutSeeds(model: tfl.LayersModel, seed: number, epoch: number, batch: number): void {
  model.layers.forEach((layer, i) => {
    if (layer instanceof SeededDropout) layer.stepSeed = deriveSeed(seed, 0xd0, epoch, batch, i);
  });
}
