/**
 * Evaluation metrics (camelCase keys as stored on jobs and model versions): the one per-task module.
 * `taskMetrics` is the regression / binary / multiclass switch every evaluation goes through
 * (training's validation and test metrics, the if-better comparison of a production model on a
 * candidate's test split, live quality on labelled predictions); `TASK_METRICS` and
 * `LOWER_IS_BETTER` say which scalar metrics a task has and which way is better.
 * Probabilities are P(positive class) for binary; per-class rows (in `classes` order) for multiclass.
 */
import type { Task } from './types';

export interface ConfusionMatrix {
  /** Class labels; rows are actual classes, columns predicted classes, both in this order. */
  labels: string[];
  matrix: number[][];
}

export interface BinaryMetrics {
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Decision threshold on P(positive) (chosen on validation, max F1): positive when p >= threshold. */
  threshold: number;
  confusionMatrix: ConfusionMatrix;
}

export interface MulticlassMetrics {
  accuracy: number;
  macroF1: number;
  perClass: Record<string, { precision: number; recall: number }>;
  confusionMatrix: ConfusionMatrix;
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
}

export type Metrics = BinaryMetrics | MulticlassMetrics | RegressionMetrics;

const EPS = 1e-15;

function safeDiv(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/** ROC AUC via the rank statistic (Mann–Whitney U), ties get average ranks. NaN without both classes. */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (yTrue[order[k]] === 1) {
        rankSumPos += avgRank;
        nPos++;
      }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Area under the precision–recall curve as average precision (step-wise, tied scores grouped). */
export function prAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) totalPos++;
  if (totalPos === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    for (let k = i; k <= j; k++) {
      if (yTrue[order[k]] === 1) tp++;
      else fp++;
    }
    const recall = tp / totalPos;
    const precision = tp / (tp + fp);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
    i = j + 1;
  }
  return ap;
}

export function binaryLogLoss(yTrue: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const q = Math.min(1 - EPS, Math.max(EPS, p[i]));
    s -= yTrue[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / yTrue.length;
}

/** The threshold on P(positive) that maximises F1 (candidates: the observed scores); 0.5 without positives. */
export function chooseThreshold(yTrue: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = yTrue.length;
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) totalPos++;
  if (totalPos === 0) return 0.5;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[b] - p[a]);
  let tp = 0;
  let fp = 0;
  let best = -1;
  let bestT = 0.5;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && p[order[j + 1]] === p[order[i]]) j++;
    for (let k = i; k <= j; k++) {
      if (yTrue[order[k]] === 1) tp++;
      else fp++;
    }
    const f1 = (2 * tp) / (2 * tp + fp + (totalPos - tp));
    if (f1 > best) {
      best = f1;
      bestT = p[order[i]];
    }
    i = j + 1;
  }
  return bestT;
}

/** Binary metrics; `classes` = [negative, positive] labels for the confusion matrix. */
export function binaryMetrics(yTrue: ArrayLike<number>, p: ArrayLike<number>, threshold: number, classes: string[]): BinaryMetrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const pred = p[i] >= threshold;
    if (yTrue[i] === 1) {
      if (pred) tp++;
      else fn++;
    } else if (pred) fp++;
    else tn++;
  }
  const precision = safeDiv(tp, tp + fp);
  const recall = safeDiv(tp, tp + fn);
  return {
    rocAuc: rocAuc(yTrue, p),
    prAuc: prAuc(yTrue, p),
    logLoss: binaryLogLoss(yTrue, p),
    accuracy: safeDiv(tp + tn, yTrue.length),
    precision,
    recall,
    f1: safeDiv(2 * precision * recall, precision + recall),
    threshold,
    confusionMatrix: {
      labels: [...classes],
      matrix: [
        [tn, fp],
        [fn, tp],
      ],
    },
  };
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Multiclass metrics from true and predicted class indices. Macro F1 averages over classes seen in truth or predictions. */
export function multiclassMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classes: string[]): MulticlassMetrics {
  const k = classes.length;
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) {
    m[yTrue[i]][yPred[i]]++;
    if (yTrue[i] === yPred[i]) correct++;
  }
  const perClass: MulticlassMetrics['perClass'] = {};
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    let colSum = 0;
    let rowSum = 0;
    for (let j = 0; j < k; j++) {
      colSum += m[j][c];
      rowSum += m[c][j];
    }
    const precision = safeDiv(m[c][c], colSum);
    const recall = safeDiv(m[c][c], rowSum);
    perClass[classes[c]] = { precision, recall };
    if (colSum + rowSum > 0) {
      f1Sum += safeDiv(2 * precision * recall, precision + recall);
      present++;
    }
  }
  return {
    accuracy: safeDiv(correct, yTrue.length),
    macroF1: safeDiv(f1Sum, present),
    perClass,
    confusionMatrix: { labels: [...classes], matrix: m },
  };
}

export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  const n = yTrue.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i];
  mean /= n;
  let se = 0;
  let ae = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const d = yTrue[i] - yPred[i];
    se += d * d;
    ae += Math.abs(d);
    tot += (yTrue[i] - mean) * (yTrue[i] - mean);
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: tot === 0 ? NaN : 1 - se / tot };
}

/** The scalar metrics of each task (keys of its metrics object). */
export const TASK_METRICS: Readonly<Record<Task, readonly string[]>> = {
  binary: ['rocAuc', 'prAuc', 'logLoss', 'accuracy', 'precision', 'recall', 'f1'],
  multiclass: ['accuracy', 'macroF1'],
  regression: ['rmse', 'mae', 'r2'],
};

/** Lower is better for these; higher for every other metric. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['rmse', 'mae', 'logLoss']);

/** Values or true/predicted targets. */
export interface RegressionPredictions {
  task: 'regression';
  yTrue: ArrayLike<number>;
  yPred: ArrayLike<number>;
}

/** True class indices (0 = classes[0] = negative, 1 = positive) and P(positive), labelled at `threshold`. */
export interface BinaryPredictions {
  task: 'binary';
  classes: string[];
  yTrue: ArrayLike<number>;
  pPositive: ArrayLike<number>;
  threshold: number;
}

/** True and predicted class indices into `classes` (also any classification scored on decided labels). */
export interface MulticlassPredictions {
  task: 'multiclass';
  classes: string[];
  yTrue: ArrayLike<number>;
  yPred: ArrayLike<number>;
}

export type TaskPredictions = RegressionPredictions | BinaryPredictions | MulticlassPredictions;

/** The metrics of a task's predictions: the one per-task switch. */
export function taskMetrics(p: RegressionPredictions): RegressionMetrics;
export function taskMetrics(p: BinaryPredictions): BinaryMetrics;
export function taskMetrics(p: MulticlassPredictions): MulticlassMetrics;
export function taskMetrics(p: TaskPredictions): Metrics;
export function taskMetrics(p: TaskPredictions): Metrics {
  switch (p.task) {
    case 'regression':
      return regressionMetrics(p.yTrue, p.yPred);
    case 'binary':
      return binaryMetrics(p.yTrue, p.pPositive, p.threshold, p.classes);
    case 'multiclass':
      return multiclassMetrics(p.yTrue, p.yPred, p.classes);
  }
}
