import { CellValue, ColumnSchema, DataRecord, Task, TrainingSpecError } from './types';

/**
 * The target column and how the model's output maps to it. Saved with the model.
 *
 *   binary      output: one sigmoid unit = P(positiveClass). classes = [negative, positive].
 *               `threshold` (chosen on validation, max F1) turns the probability into a label.
 *   multiclass  output: softmax over `classes`, in that order.
 *   regression  output: one linear unit in the target's own units (the training-time target
 *               standardisation is folded into the last layer of the exported model).
 *
 * Class labels are strings: String(value) of the target cell ('true'/'false' for booleans).
 */
export interface TargetSpec {
  name: string;
  columnType: ColumnSchema['type'];
  task: Task;
  classes?: string[];
  positiveClass?: string;
  threshold?: number;
  /** regression: mean/std of the training-split target, used while training. */
  scale?: { mean: number; std: number };
}

export const MAX_CLASSES = 100;

export function labelOf(v: CellValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return String(v);
}

function sortLabels(labels: string[], type: ColumnSchema['type']): string[] {
  if (type === 'number' || type === 'integer') return [...labels].sort((a, b) => Number(a) - Number(b));
  // booleans: 'false' before 'true'; strings: code-point order (locale independent, stable)
  return [...labels].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Decides the task (when not given) and the class list from the target column.
 *   boolean                               → binary
 *   categorical / string: 2 values        → binary, more → multiclass
 *   number / integer: exactly 2 values    → binary, otherwise regression
 *   timestamp                             → rejected
 * An explicit task is checked against the column (e.g. regression on a categorical target is rejected).
 */
export function resolveTarget(
  columns: ColumnSchema[],
  rows: DataRecord[],
  target: string,
  opts: { task?: Task; positiveClass?: string | number | boolean } = {},
): TargetSpec {
  const col = columns.find((c) => c.name === target);
  if (!col) throw new TrainingSpecError('target', `'${target}' is not a column of the dataset`);
  if (col.type === 'timestamp') throw new TrainingSpecError('target', `'${target}' is a timestamp column; it cannot be a target`);

  const counts = new Map<string, number>();
  let numeric = 0;
  for (const r of rows) {
    const v = r[target];
    const l = labelOf(v);
    if (l === null) continue;
    if (typeof v === 'number') numeric++;
    if (counts.size <= MAX_CLASSES || counts.has(l)) counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  if (counts.size === 0) throw new TrainingSpecError('target', `'${target}' has no non-missing values`);

  const numericColumn = col.type === 'number' || col.type === 'integer';
  let task = opts.task;
  if (task === undefined) {
    if (col.type === 'boolean') task = 'binary';
    else if (numericColumn) task = counts.size === 2 ? 'binary' : 'regression';
    else task = counts.size === 2 ? 'binary' : 'multiclass';
  }

  if (task === 'regression') {
    if (!numericColumn) {
      throw new TrainingSpecError('task', `regression needs a numeric target; '${target}' is ${col.type}`);
    }
    if (numeric < 2) throw new TrainingSpecError('target', `'${target}' needs at least 2 numeric values for regression`);
    if (opts.positiveClass !== undefined) throw new TrainingSpecError('positiveClass', 'only applies to binary tasks');
    return { name: target, columnType: col.type, task };
  }

  if (counts.size < 2) throw new TrainingSpecError('target', `'${target}' has a single class; nothing to learn`);
  if (task === 'binary' && counts.size !== 2) {
    throw new TrainingSpecError(
      'task',
      `binary needs exactly 2 classes; '${target}' has ${counts.size > MAX_CLASSES ? `more than ${MAX_CLASSES}` : counts.size}`,
    );
  }
  if (task === 'multiclass' && counts.size > MAX_CLASSES) {
    throw new TrainingSpecError('target', `'${target}' has more than ${MAX_CLASSES} classes`);
  }
  let classes = sortLabels([...counts.keys()], col.type);

  if (task === 'binary') {
    let positive: string;
    if (opts.positiveClass !== undefined) {
      positive = String(opts.positiveClass);
      if (!counts.has(positive)) {
        throw new TrainingSpecError('positiveClass', `'${positive}' is not a value of '${target}' (values: ${classes.join(', ')})`);
      }
    } else {
      // default: the minority class; on a tie the later one in sorted order ('true', 1, 'yes'…)
      const [a, b] = classes;
      positive = (counts.get(a) ?? 0) < (counts.get(b) ?? 0) ? a : b;
    }
    classes = [classes.find((c) => c !== positive) as string, positive];
    return { name: target, columnType: col.type, task, classes, positiveClass: positive };
  }
  if (opts.positiveClass !== undefined) throw new TrainingSpecError('positiveClass', 'only applies to binary tasks');
  return { name: target, columnType: col.type, task, classes };
}

/** Class index per row (-1 when missing or unknown) for classification targets. */
export function encodeClasses(spec: TargetSpec, rows: DataRecord[]): Int32Array {
  const index = new Map((spec.classes ?? []).map((c, i) => [c, i]));
  const out = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    const l = labelOf(r[spec.name]);
    out[i] = l === null ? -1 : (index.get(l) ?? -1);
  });
  return out;
}

/** Numeric target per row (NaN when missing) for regression. */
export function encodeNumbers(spec: TargetSpec, rows: DataRecord[]): Float64Array {
  const out = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    const v = r[spec.name];
    out[i] = typeof v === 'number' && Number.isFinite(v) ? v : NaN;
  });
  return out;
}
