/**
 * Pure parts of batch predictions: naming the prediction columns, the output schema handed to ingestion,
 * the feature records sent to the model, and the output rows (input columns + predictions).
 *
 * Columns added to every input row:
 *  - `prediction`: the predicted label (classification) or value (regression);
 *  - `probability_<class>`: one per class (classification), the class sanitised to [A-Za-z0-9_];
 *  - `score`: binary only, the probability of the positive class.
 * A name already taken (an input column, or two classes sanitising alike) gets `_2`, `_3`, … so no
 * input column is ever overwritten; the chosen names are stored on the job row.
 */
import type { ColumnSchema, DatasetRow } from '../../ingestion';

export type ScoringTask = 'binary' | 'multiclass' | 'regression';

/** What the model's target tells about its outputs (engine.TargetSpec, reduced to what naming needs). */
export interface ScoringTarget {
  task: ScoringTask;
  classes?: string[];
  positiveClass?: string;
}

export interface PredictionColumns {
  task: ScoringTask;
  prediction: string;
  /** Classification: one column per class, in the model's class order. */
  probabilities: Array<{ label: string; column: string }>;
  /** Binary: the column holding the positive class's probability. */
  score: { label: string; column: string } | null;
  /** The model's target column these predict (set by the worker; absent on jobs from before it was kept). */
  target?: string;
}

/** Every column a scoring run adds, in output order. */
export function scoredColumnNames(cols: PredictionColumns): string[] {
  return [cols.prediction, ...cols.probabilities.map((p) => p.column), ...(cols.score ? [cols.score.column] : [])];
}

/** One record's answer from the record API (engine.RecordPrediction). */
export interface ScoredRecord {
  label?: string;
  probabilities?: Record<string, number>;
  value?: number;
}

/** A column of the output schema sent to `ingestion.process-version` (its `schema.columns` entries). */
export interface OutputSchemaColumn {
  name: string;
  type: ColumnSchema['type'];
  nullable?: boolean;
  categories?: string[];
}

/** `Adélie Penguin (A)` → `Ad_lie_Penguin_A`; never empty. */
export function sanitizeColumnPart(s: string): string {
  const out = s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return out === '' ? 'class' : out;
}

export function predictionColumns(target: ScoringTarget, inputColumns: readonly string[]): PredictionColumns {
  const taken = new Set(inputColumns);
  const claim = (wanted: string): string => {
    let name = wanted;
    for (let i = 2; taken.has(name); i++) name = `${wanted}_${i}`;
    taken.add(name);
    return name;
  };
  const prediction = claim('prediction');
  if (target.task === 'regression') return { task: 'regression', prediction, probabilities: [], score: null };
  const classes = target.classes ?? [];
  if (classes.length < 2) throw new Error(`a ${target.task} model needs at least two classes, got ${classes.length}`);
  const probabilities = classes.map((label) => ({ label, column: claim(`probability_${sanitizeColumnPart(label)}`) }));
  let score: PredictionColumns['score'] = null;
  if (target.task === 'binary') {
    // engine.decodeOutputs: the model's single output is the probability of classes[1]
    const positive = target.positiveClass !== undefined && classes.includes(target.positiveClass) ? target.positiveClass : classes[1]!;
    score = { label: positive, column: claim('score') };
  }
  return { task: target.task, prediction, probabilities, score };
}

/** Input columns as they are (types kept), then the prediction columns. */
export function outputSchema(input: readonly ColumnSchema[], cols: PredictionColumns): OutputSchemaColumn[] {
  const out: OutputSchemaColumn[] = input.map((c) => ({
    name: c.name,
    type: c.type,
    nullable: c.nullable,
    ...(c.categories ? { categories: [...c.categories] } : {}),
  }));
  if (cols.task === 'regression') out.push({ name: cols.prediction, type: 'number' });
  else out.push({ name: cols.prediction, type: 'categorical', categories: cols.probabilities.map((p) => p.label) });
  for (const p of cols.probabilities) out.push({ name: p.column, type: 'number' });
  if (cols.score) out.push({ name: cols.score.column, type: 'number' });
  return out;
}

/** Feature names the model needs that the dataset version does not have. */
export function missingFeatures(features: ReadonlyArray<{ name: string }>, columns: readonly string[]): string[] {
  const have = new Set(columns);
  return features.map((f) => f.name).filter((n) => !have.has(n));
}

/** The record sent to the model: only its features, missing values as null. */
export function featureRecord(row: DatasetRow, features: ReadonlyArray<{ name: string }>): Record<string, DatasetRow[string]> {
  const rec: Record<string, DatasetRow[string]> = {};
  for (const f of features) rec[f.name] = row[f.name] ?? null;
  return rec;
}

function finiteOrNull(v: number | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** One output row: the input row's values, then the prediction columns (missing outputs as null). */
export function outputRow(row: DatasetRow, scored: ScoredRecord, cols: PredictionColumns): DatasetRow {
  const out: DatasetRow = { ...row };
  if (cols.task === 'regression') {
    out[cols.prediction] = finiteOrNull(scored.value);
    return out;
  }
  out[cols.prediction] = scored.label ?? null;
  for (const p of cols.probabilities) out[p.column] = finiteOrNull(scored.probabilities?.[p.label]);
  if (cols.score) out[cols.score.column] = finiteOrNull(scored.probabilities?.[cols.score.label]);
  return out;
}
