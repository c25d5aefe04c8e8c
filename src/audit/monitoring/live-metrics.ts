/**
 * Quality metrics on labelled live predictions (pure). The metrics are the ML kernel's per-task ones
 * (`ml.taskMetrics`, the same definitions the model was evaluated with at training time); this file
 * only maps logged outputs + feedback labels onto them (logged labels are already decided, so
 * classification is scored on labels, the multiclass form, for binary too):
 *   classification → accuracy, macro F1 (and the positive class's F1 for binary), ROC AUC: binary from
 *                    the stored P(positive) (`score`), multiclass one-vs-rest macro AUC from `probabilities`;
 *   regression     → RMSE, MAE (and R²).
 * Undefined values (no labelled rows, AUC without both classes) are null.
 */
import * as ml from '../../ml';
import type { LabelSpec } from './feedback-input';

/** One record's logged prediction (record API output) and its ground truth. */
export interface LabelledPrediction {
  predicted: { label?: unknown; score?: unknown; probabilities?: unknown; value?: unknown };
  actual: string | number;
}

export interface ClassificationQuality {
  labelled: number;
  accuracy: number | null;
  macroF1: number | null;
  /** Binary only: F1 of the positive class. */
  f1?: number | null;
  rocAuc: number | null;
  /** How rocAuc was computed. */
  auc: 'binary' | 'one-vs-rest-macro';
  confusionMatrix: { labels: string[]; matrix: number[][] } | null;
}

export interface RegressionQuality {
  labelled: number;
  rmse: number | null;
  mae: number | null;
  r2: number | null;
}

export type LiveQuality = ClassificationQuality | RegressionQuality;

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function probabilityOf(p: LabelledPrediction['predicted'], cls: string): number | null {
  const probs = p.probabilities;
  if (probs === null || typeof probs !== 'object') return null;
  const v = (probs as Record<string, unknown>)[cls];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function regression(rows: LabelledPrediction[]): RegressionQuality {
  const yTrue: number[] = [];
  const yPred: number[] = [];
  for (const r of rows) {
    if (typeof r.actual !== 'number' || typeof r.predicted.value !== 'number' || !Number.isFinite(r.predicted.value)) continue;
    yTrue.push(r.actual);
    yPred.push(r.predicted.value);
  }
  if (yTrue.length === 0) return { labelled: 0, rmse: null, mae: null, r2: null };
  const m = ml.taskMetrics({ task: 'regression', yTrue, yPred });
  return { labelled: yTrue.length, rmse: finite(m.rmse), mae: finite(m.mae), r2: finite(m.r2) };
}

/** ROC AUC of one class against the rest, over the rows that carry a probability for it. */
function aucFor(rows: LabelledPrediction[], cls: string, score: (p: LabelledPrediction['predicted']) => number | null): number {
  const y: number[] = [];
  const s: number[] = [];
  for (const r of rows) {
    const v = score(r.predicted);
    if (v === null) continue;
    y.push(String(r.actual) === cls ? 1 : 0);
    s.push(v);
  }
  return ml.rocAuc(y, s);
}

function classification(rows: LabelledPrediction[], spec: LabelSpec): ClassificationQuality {
  const classes = spec.classes ?? [];
  const index = new Map(classes.map((c, i) => [c, i]));
  const yTrue: number[] = [];
  const yPred: number[] = [];
  const scored: LabelledPrediction[] = [];
  for (const r of rows) {
    const t = index.get(String(r.actual));
    const p = typeof r.predicted.label === 'string' ? index.get(r.predicted.label) : undefined;
    if (t === undefined || p === undefined) continue;
    yTrue.push(t);
    yPred.push(p);
    scored.push(r);
  }
  const auc = spec.task === 'binary' ? 'binary' : 'one-vs-rest-macro';
  if (yTrue.length === 0) {
    return {
      labelled: 0,
      accuracy: null,
      macroF1: null,
      ...(spec.task === 'binary' ? { f1: null } : {}),
      rocAuc: null,
      auc,
      confusionMatrix: null,
    };
  }
  const m = ml.taskMetrics({ task: 'multiclass', classes, yTrue, yPred });
  let rocAuc: number;
  let f1: number | undefined;
  if (spec.task === 'binary') {
    const positive = spec.positiveClass ?? classes[1]!;
    const { precision, recall } = m.perClass[positive]!;
    f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    rocAuc = aucFor(scored, positive, (p) =>
      typeof p.score === 'number' && Number.isFinite(p.score) ? p.score : probabilityOf(p, positive),
    );
  } else {
    const perClass = classes.map((c) => aucFor(scored, c, (p) => probabilityOf(p, c))).filter((v) => Number.isFinite(v));
    rocAuc = perClass.length ? perClass.reduce((a, b) => a + b, 0) / perClass.length : NaN;
  }
  return {
    labelled: yTrue.length,
    accuracy: finite(m.accuracy),
    macroF1: finite(m.macroF1),
    ...(f1 !== undefined ? { f1: finite(f1) } : {}),
    rocAuc: finite(rocAuc),
    auc,
    confusionMatrix: m.confusionMatrix,
  };
}

/** Metrics of one model version's labelled predictions. */
export function liveQuality(rows: LabelledPrediction[], spec: LabelSpec): LiveQuality {
  return spec.task === 'regression' ? regression(rows) : classification(rows, spec);
}
