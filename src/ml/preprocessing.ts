import { CellValue, ColumnSchema, ColumnType, DataRecord, TrainingSpecError } from './types';
import { compileRecordReader, type CompiledRecordReader } from './compiled-preprocessing';

/**
 * Feature preprocessing: fitted on the training split only, saved as JSON with the model and applied
 * identically at serving time (the record API calls `Preprocessor.fromJSON(spec).transform(records)`).
 *
 *   number, integer, timestamp  standardised: (x - mean) / std over the training split's observed values;
 *                               a missing value (null / absent) takes the training median; when the
 *                               training split had missing values a `<name>__missing` 0/1 column follows.
 *                               timestamps are epoch milliseconds (ISO strings are parsed).
 *   boolean                     0/1; missing → the training split's most frequent value (+ indicator
 *                               column when the training split had missing values)
 *   categorical, string         one-hot over the top-K most frequent training values (ties: value order)
 *                               plus one out-of-vocabulary column that also takes missing values
 *
 * Output: a row-major Float32Array, `rows × width`, columns named by `outputNames` — or, for a model
 * whose input tensor has another element type (imported ONNX graphs), the array of that type
 * (`transform(records, {dtype})`, RECORD_INPUT_DTYPES): float64 keeps every double; int32 and int64
 * (held as a Float64Array, exact within ±(2^53 − 1)) take integers only, and a value the input type
 * cannot hold exactly is a RecordValidationError naming the feature, never rounded.
 */
export const PREPROCESSING_FORMAT_VERSION = 1;
export const DEFAULT_MAX_CATEGORIES = 32;
export const OOV_TOKEN = '__oov__';

export type FeatureSpec =
  | {
      name: string;
      type: 'number' | 'integer' | 'timestamp';
      kind: 'numeric';
      mean: number;
      std: number;
      median: number;
      missingIndicator: boolean;
    }
  | { name: string; type: 'boolean'; kind: 'boolean'; fill: 0 | 1; missingIndicator: boolean }
  | { name: string; type: 'categorical' | 'string'; kind: 'categorical'; vocabulary: string[] };

export interface PreprocessingSpec {
  formatVersion: typeof PREPROCESSING_FORMAT_VERSION;
  features: FeatureSpec[];
  /** Names of the model input columns, in order (`width` of them). */
  outputNames: string[];
  width: number;
}

/** Element types of a model input the record API can fill (see the file comment). */
export const RECORD_INPUT_DTYPES = ['float32', 'float64', 'int32', 'int64'] as const;
export type RecordInputDtype = (typeof RECORD_INPUT_DTYPES)[number];

/** Largest magnitude an integer input takes exactly: int32's range, or ±(2^53 − 1) for int64 (what a double holds). */
const INTEGER_LIMIT: Record<RecordInputDtype, number | null> = {
  float32: null,
  float64: null,
  int32: 2 ** 31 - 1,
  int64: Number.MAX_SAFE_INTEGER,
};

export interface FeatureIssue {
  /** Index of the record in the request / batch. */
  index: number;
  /** The feature (or unexpected key) at fault; null when the record itself is not an object. */
  feature: string | null;
  reason: string;
}

/** Records failed validation; `issues` names record index, feature and reason for each problem. */
export class RecordValidationError extends Error {
  constructor(readonly issues: FeatureIssue[]) {
    const first = issues
      .slice(0, 5)
      .map((i) => `record ${i.index}${i.feature !== null ? ` feature '${i.feature}'` : ''}: ${i.reason}`)
      .join('; ');
    super(`${issues.length} invalid feature value(s): ${first}${issues.length > 5 ? '; …' : ''}`);
    this.name = 'RecordValidationError';
  }
}

export interface ValidateOptions {
  /** Keys that are not features are allowed (training tables carry the target and other columns). */
  allowExtra?: boolean;
  /** Absent keys count as missing values instead of errors (training tables). Default false. */
  allowAbsent?: boolean;
  /** Stop after this many issues (default 100). */
  maxIssues?: number;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v;
}

/** Parses a timestamp cell to epoch ms; NaN when invalid. */
export function timestampMs(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v === 'string' && v.trim() !== '') return Date.parse(v);
  return NaN;
}

/** Why `v` is not an acceptable value for a feature of this type, or null when it is (null = missing is fine). */
export function valueProblem(type: ColumnType, v: unknown): string | null {
  if (v === null) return null;
  switch (type) {
    case 'number':
    case 'integer':
      return typeof v === 'number' && Number.isFinite(v) ? null : `expected a finite number or null, got ${describe(v)}`;
    case 'boolean':
      return typeof v === 'boolean' ? null : `expected true, false or null, got ${describe(v)}`;
    case 'categorical':
    case 'string':
      return typeof v === 'string' ? null : `expected a string or null, got ${describe(v)}`;
    case 'timestamp':
      if (typeof v !== 'number' && typeof v !== 'string')
        return `expected an ISO-8601 timestamp string, epoch milliseconds or null, got ${describe(v)}`;
      return Number.isNaN(timestampMs(v)) ? `'${String(v)}' is not a valid timestamp` : null;
  }
}

/** Validates records against a fitted spec: missing features, unexpected keys, wrongly typed values. */
export function validateRecords(spec: PreprocessingSpec, records: readonly unknown[], opts: ValidateOptions = {}): FeatureIssue[] {
  const issues: FeatureIssue[] = [];
  const max = opts.maxIssues ?? 100;
  const known = new Set(spec.features.map((f) => f.name));
  for (let i = 0; i < records.length && issues.length < max; i++) {
    const r = records[i];
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      issues.push({ index: i, feature: null, reason: `record must be an object of feature values, got ${describe(r)}` });
      continue;
    }
    const rec = r as Record<string, unknown>;
    for (const f of spec.features) {
      if (!Object.prototype.hasOwnProperty.call(rec, f.name) || rec[f.name] === undefined) {
        if (!opts.allowAbsent) issues.push({ index: i, feature: f.name, reason: `missing feature (send null for a missing value)` });
        continue;
      }
      const p = valueProblem(f.type, rec[f.name]);
      if (p) issues.push({ index: i, feature: f.name, reason: p });
    }
    if (!opts.allowExtra) {
      for (const k of Object.keys(rec)) {
        if (!known.has(k)) issues.push({ index: i, feature: k, reason: 'unexpected feature: the model does not take it' });
      }
    }
  }
  return issues.slice(0, max);
}

function width(f: FeatureSpec): number {
  if (f.kind === 'categorical') return f.vocabulary.length + 1;
  return f.missingIndicator ? 2 : 1;
}

function outputNamesOf(features: FeatureSpec[]): string[] {
  const names: string[] = [];
  for (const f of features) {
    if (f.kind === 'categorical') {
      for (const v of f.vocabulary) names.push(`${f.name}=${v}`);
      names.push(`${f.name}=${OOV_TOKEN}`);
    } else {
      names.push(f.name);
      if (f.missingIndicator) names.push(`${f.name}__missing`);
    }
  }
  return names;
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const m = n >> 1;
  return n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

function fitFeature(col: ColumnSchema, rows: readonly DataRecord[], maxCategories: number): FeatureSpec {
  const values = rows.map((r) => r[col.name]);
  switch (col.type) {
    case 'number':
    case 'integer':
    case 'timestamp': {
      const obs: number[] = [];
      let missing = 0;
      for (const v of values) {
        const x = col.type === 'timestamp' ? timestampMs(v) : typeof v === 'number' ? v : NaN;
        if (Number.isFinite(x)) obs.push(x);
        else missing++;
      }
      const sorted = Float64Array.from(obs).sort();
      let mean = 0;
      for (const x of obs) mean += x;
      mean = obs.length ? mean / obs.length : 0;
      let ss = 0;
      for (const x of obs) ss += (x - mean) * (x - mean);
      const sd = obs.length > 1 ? Math.sqrt(ss / obs.length) : 0;
      return {
        name: col.name,
        type: col.type,
        kind: 'numeric',
        mean,
        std: sd > 1e-12 ? sd : 1,
        median: median(sorted),
        missingIndicator: missing > 0,
      };
    }
    case 'boolean': {
      let t = 0;
      let f = 0;
      for (const v of values) {
        if (v === true) t++;
        else if (v === false) f++;
      }
      return { name: col.name, type: 'boolean', kind: 'boolean', fill: t > f ? 1 : 0, missingIndicator: t + f < values.length };
    }
    case 'categorical':
    case 'string': {
      const counts = new Map<string, number>();
      for (const v of values) if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
      const vocabulary = [...counts.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .slice(0, maxCategories)
        .map(([v]) => v);
      return { name: col.name, type: col.type, kind: 'categorical', vocabulary };
    }
  }
}

export interface FitOptions {
  /** K of the top-K vocabulary per categorical feature (default 32). */
  maxCategories?: number;
}

export class Preprocessor {
  private readonly categoryIndex: Array<Map<string, number> | null>;
  private readonly offsets: number[];
  /** The fast path of `transform` for serving (compiled-preprocessing.ts), built on first use. */
  private reader: CompiledRecordReader | null = null;

  private constructor(readonly spec: PreprocessingSpec) {
    this.categoryIndex = spec.features.map((f) => (f.kind === 'categorical' ? new Map(f.vocabulary.map((v, i) => [v, i])) : null));
    this.offsets = [];
    let o = 0;
    for (const f of spec.features) {
      this.offsets.push(o);
      o += width(f);
    }
  }

  /** Learns the preprocessing from the (training split's) rows. */
  static fit(
    columns: readonly ColumnSchema[],
    rows: readonly DataRecord[],
    features: readonly string[],
    opts: FitOptions = {},
  ): Preprocessor {
    const k = opts.maxCategories ?? DEFAULT_MAX_CATEGORIES;
    if (!Number.isInteger(k) || k < 1) throw new TrainingSpecError('preprocessing.maxCategories', 'must be a positive integer');
    const specs = features.map((name) => {
      const col = columns.find((c) => c.name === name);
      if (!col) throw new TrainingSpecError('features', `'${name}' is not a column of the dataset`);
      return fitFeature(col, rows, k);
    });
    const outputNames = outputNamesOf(specs);
    return new Preprocessor({ formatVersion: PREPROCESSING_FORMAT_VERSION, features: specs, outputNames, width: outputNames.length });
  }

  /** Rebuilds from the JSON saved with a model; throws on an unknown format. */
  static fromJSON(json: unknown): Preprocessor {
    const s = (typeof json === 'string' ? JSON.parse(json) : json) as PreprocessingSpec;
    if (s == null || s.formatVersion !== PREPROCESSING_FORMAT_VERSION || !Array.isArray(s.features)) {
      throw new Error(`unsupported preprocessing spec (formatVersion ${String(s?.formatVersion)})`);
    }
    const names = outputNamesOf(s.features);
    if (names.length !== s.width) throw new Error(`preprocessing spec is inconsistent: width ${s.width}, features give ${names.length}`);
    return new Preprocessor({ ...s, outputNames: names });
  }

  toJSON(): PreprocessingSpec {
    return JSON.parse(JSON.stringify(this.spec)) as PreprocessingSpec;
  }

  get width(): number {
    return this.spec.width;
  }

  get featureNames(): string[] {
    return this.spec.features.map((f) => f.name);
  }

  validate(records: readonly unknown[], opts?: ValidateOptions): FeatureIssue[] {
    return validateRecords(this.spec, records, opts);
  }

  /**
   * Records → row-major Float32Array (records.length × width). Validates first (unless
   * `validate: false`) and throws RecordValidationError naming record, feature and reason.
   */
  transform(records: readonly unknown[], opts?: ValidateOptions & { validate?: boolean; dtype?: 'float32' }): Float32Array;
  transform(
    records: readonly unknown[],
    opts: ValidateOptions & { validate?: boolean; dtype: RecordInputDtype },
  ): Float32Array | Float64Array | Int32Array;
  transform(
    records: readonly unknown[],
    opts: ValidateOptions & { validate?: boolean; dtype?: RecordInputDtype } = {},
  ): Float32Array | Float64Array | Int32Array {
    const dtype = opts.dtype ?? 'float32';
    // Serving's case (strict records, a float input): one compiled pass that checks and writes; any record it
    // does not take as it is goes to the general path below, which names the problems.
    if (opts.validate !== false && !opts.allowExtra && !opts.allowAbsent && (dtype === 'float32' || dtype === 'float64')) {
      this.reader ??= compileRecordReader(this.spec.features, this.offsets, this.spec.width, timestampMs);
      const out =
        dtype === 'float32' ? new Float32Array(records.length * this.spec.width) : new Float64Array(records.length * this.spec.width);
      if (this.reader(records, out)) return out;
    }
    if (opts.validate !== false) {
      const issues = this.validate(records, opts);
      if (issues.length) throw new RecordValidationError(issues);
    }
    const w = this.spec.width;
    const n = records.length * w;
    const out = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Float64Array(n);
    const limit = INTEGER_LIMIT[dtype];
    const issues: FeatureIssue[] = [];
    for (let i = 0; i < records.length && issues.length < 100; i++) {
      const rec = records[i] as Record<string, CellValue | undefined>;
      const base = i * w;
      this.spec.features.forEach((f, j) => {
        const o = base + this.offsets[j];
        const v = rec[f.name];
        if (f.kind === 'numeric') {
          const x = f.type === 'timestamp' ? timestampMs(v) : typeof v === 'number' ? v : NaN;
          const miss = !Number.isFinite(x);
          out[o] = ((miss ? f.median : x) - f.mean) / f.std;
          if (f.missingIndicator) out[o + 1] = miss ? 1 : 0;
          if (limit !== null) {
            const problem = integerProblem(((miss ? f.median : x) - f.mean) / f.std, limit, dtype);
            if (problem) issues.push({ index: i, feature: f.name, reason: problem });
          }
        } else if (f.kind === 'boolean') {
          const miss = typeof v !== 'boolean';
          out[o] = miss ? f.fill : v ? 1 : 0;
          if (f.missingIndicator) out[o + 1] = miss ? 1 : 0;
        } else {
          const idx = typeof v === 'string' ? this.categoryIndex[j]!.get(v) : undefined;
          out[o + (idx ?? f.vocabulary.length)] = 1;
        }
      });
    }
    if (issues.length) throw new RecordValidationError(issues);
    return out;
  }
}

/** Why an integer input cannot take `v` exactly, or null when it can. */
function integerProblem(v: number, limit: number, dtype: RecordInputDtype): string | null {
  if (!Number.isInteger(v)) return `the model's input is ${dtype}: expected an integer, got ${v}`;
  if (Math.abs(v) > limit)
    return (
      `${v} is beyond ±${limit}: the model's ${dtype} input ` +
      (dtype === 'int64' ? 'is taken exactly within ±(2^53 − 1) only (what a JSON number holds)' : 'cannot hold it')
    );
  return null;
}
