import { taskMetrics, type Metrics } from './metrics';
import { predictRecords } from './predict';
import type { PreprocessingSpec } from './preprocessing';
import type { TargetSpec } from './target';
import type { DataRecord } from './types';

/** A record's actual label is not one of the model's classes. */
export class UnknownLabelError extends Error {
  constructor(readonly label: string | number) {
    super(`label '${String(label)}' is not a class of the model`);
    this.name = 'UnknownLabelError';
  }
}

/**
 * Metrics of a saved model on labelled records, through its saved preprocessing and target spec:
 * what serving would answer, scored the way training scores its test split (`taskMetrics`). The
 * if-better comparison scores the production version on a candidate's test split with it. Throws
 * (RecordValidationError, UnknownLabelError) when the records cannot be scored.
 */
export function evaluateRecords(
  model: Parameters<typeof predictRecords>[0],
  preprocessing: PreprocessingSpec,
  target: TargetSpec,
  records: readonly DataRecord[],
  actual: ReadonlyArray<string | number>,
): Metrics {
  const preds = predictRecords(model, preprocessing, target, records);
  if (target.task === 'regression') {
    return taskMetrics({ task: 'regression', yTrue: actual.map((y) => Number(y)), yPred: preds.map((p) => p.value as number) });
  }
  const classes = target.classes ?? [];
  const truth = actual.map((y) => classes.indexOf(String(y)));
  const unknown = actual.find((y, i) => truth[i] < 0);
  if (unknown !== undefined) throw new UnknownLabelError(unknown);
  if (target.task === 'binary') {
    const pPositive = preds.map((p) => (p.probabilities as Record<string, number>)[classes[1]]);
    return taskMetrics({ task: 'binary', classes, yTrue: truth, pPositive, threshold: target.threshold ?? 0.5 });
  }
  return taskMetrics({ task: 'multiclass', classes, yTrue: truth, yPred: preds.map((p) => classes.indexOf(p.label as string)) });
}
