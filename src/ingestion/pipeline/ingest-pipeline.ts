/**
 * `runIngest`: one streamed pass from raw bytes (or records) to a validated, profiled Arrow IPC
 * stream. Stages: bytes → gunzip (capped) → UTF-8 check → records (csv-parse / stream-json /
 * NDJSON) → type inference on a prefix → row validation into typed batches → per-batch profile
 * update + Arrow encode → sink (with backpressure).
 *
 * Sink contract: on success the Arrow stream is complete and the sink has been ended (awaited
 * 'finish'); on any failure the sink is destroyed with the error, so a consumer such as
 * `ArtifactStore.put(passThrough)` fails and stores nothing.
 */
import type { Writable } from 'node:stream';
import type { ColumnProfile, ColumnType, DatasetProfile } from '../../contracts/dataset-profile';
import { ArrowStreamEncoder, DEFAULT_BATCH_ROWS } from './columnar-writer';
import { IngestInputError, IngestRejectedError, type RowError } from './errors';
import {
  DEFAULT_MAX_INFLATED_BYTES,
  decompress,
  resolveFormat,
  validateUtf8,
  type ByteInput,
  type ByteStats,
  type IngestFormat,
} from './formats';
import { CategoricalProfiler, NumericProfiler, TimestampProfiler, type ColumnProfiler } from './profiler';
import { DEFAULT_MAX_RECORD_BYTES, readCsv, readJsonArray, readNdjson, readRecords } from './record-readers';
import { RowValidator, createColumnState, type ColumnState } from './row-validation';
import {
  DEFAULT_CATEGORICAL_RULE,
  TypeInferrer,
  isCategorical,
  normalizeSchema,
  type CategoricalRule,
  type ColumnSchema,
  type IngestSchema,
  type NormalizedSchemaColumn,
} from './schema-inference';
import { DEFAULT_NULL_TOKENS, NullTokens } from './values';

export type ErrorPolicy = { mode: 'reject'; maxErrorRate?: number } | { mode: 'drop' };

export interface IngestOptions {
  /** Opens the raw upload (possibly gzip). Called once, or twice with `inference: 'full'`. */
  source?: () => ByteInput | Promise<ByteInput>;
  /** Alternative to `source`: records in memory or streamed (the `{records: [...]}` body). */
  records?: Iterable<unknown> | AsyncIterable<unknown>;
  /** Used to tell the format (`.csv`, `.tsv`, `.ndjson`, `.jsonl`, `.json`, each optionally `.gz`). */
  fileName?: string;
  /** Explicit format, wins over the file name: csv | tsv | ndjson | jsonl | json (optionally `+gzip`). */
  format?: string;
  /** Column types / nullability / allowed categories overriding inference (partial is fine). */
  schema?: IngestSchema | IngestSchema['columns'];
  /** Default `{mode: 'reject', maxErrorRate: 0}`: any bad row rejects the version. Bad rows are never stored. */
  errorPolicy?: ErrorPolicy;
  /** Cell values read as missing. Default `""`, `NA`, `N/A`, `null`, `NaN`. */
  nullTokens?: readonly string[];
  /** Cap on decompressed bytes of gzip input (gzip bomb guard). Default 8 GiB. */
  maxInflatedBytes?: number;
  /** `prefix` (default): infer from the first `inferenceRows` rows, single pass. `full`: an extra pass over all rows first. */
  inference?: 'prefix' | 'full';
  /** Rows used for inference in `prefix` mode. Default 20 000. */
  inferenceRows?: number;
  categorical?: Partial<CategoricalRule>;
  /** Rows per Arrow record batch. Default 65 536. */
  batchRows?: number;
  /** Default 10 000. */
  maxColumns?: number;
  /** Max bytes of one CSV record / NDJSON line. Default 16 MiB. */
  maxRecordBytes?: number;
  /** Seed of the profile's reservoir samples (deterministic output). Default 42. */
  seed?: number;
  /** Rows read so far (good and bad); called after every batch and at the end. */
  onProgress?: (rowsProcessed: number) => void;
  /** Receives the Arrow IPC stream. Ended on success, destroyed on failure. */
  sink: Writable;
}

export interface IngestResult {
  format: IngestFormat | 'records';
  gzip: boolean;
  /** Rows stored (valid rows). */
  rowCount: number;
  /** Data rows read, valid or not. */
  totalRows: number;
  columns: ColumnSchema[];
  profile: DatasetProfile;
  /** First 100 errors. */
  errors: RowError[];
  errorCount: number;
  /** Bad rows left out of the stored data. */
  droppedRows: number;
  inputBytes: number;
  decodedBytes: number;
  arrow: { bytes: number; batches: number };
}

export const MAX_REPORTED_ERRORS = 100;
export const DEFAULT_INFERENCE_ROWS = 20000;

type Row = string[] | Record<string, unknown>;

function checkOptions(o: IngestOptions): void {
  if (!o || typeof o !== 'object') throw new IngestInputError('OPTIONS_INVALID', 'options', 'options are required');
  if (!o.source === !o.records) throw new IngestInputError('OPTIONS_INVALID', 'source', 'give exactly one of source or records');
  if (!o.sink || typeof (o.sink as Writable).write !== 'function')
    throw new IngestInputError('OPTIONS_INVALID', 'sink', 'sink must be a Writable');
  const p = o.errorPolicy;
  if (p !== undefined) {
    if (typeof p !== 'object' || p === null || (p.mode !== 'reject' && p.mode !== 'drop')) {
      throw new IngestInputError('ERROR_POLICY_INVALID', 'errorPolicy.mode', 'errorPolicy.mode must be "reject" or "drop"');
    }
    if (p.mode === 'reject' && p.maxErrorRate !== undefined) {
      if (typeof p.maxErrorRate !== 'number' || !(p.maxErrorRate >= 0 && p.maxErrorRate <= 1)) {
        throw new IngestInputError(
          'ERROR_POLICY_INVALID',
          'errorPolicy.maxErrorRate',
          'errorPolicy.maxErrorRate must be a number between 0 and 1',
        );
      }
    }
  }
  if (o.nullTokens !== undefined && (!Array.isArray(o.nullTokens) || o.nullTokens.some((t) => typeof t !== 'string'))) {
    throw new IngestInputError('OPTIONS_INVALID', 'nullTokens', 'nullTokens must be an array of strings');
  }
  for (const k of ['maxInflatedBytes', 'inferenceRows', 'batchRows', 'maxColumns', 'maxRecordBytes'] as const) {
    const v = o[k];
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
      throw new IngestInputError('OPTIONS_INVALID', k, `${k} must be a positive number`);
    }
  }
  if (o.inference !== undefined && o.inference !== 'prefix' && o.inference !== 'full') {
    throw new IngestInputError('OPTIONS_INVALID', 'inference', 'inference must be "prefix" or "full"');
  }
}

function writeChunk(sink: Writable, buf: Buffer): void | Promise<void> {
  if (buf.length === 0) return;
  if (sink.destroyed) throw new Error('the sink was closed before ingestion finished');
  if (sink.write(buf)) return;
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown): void => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (e: unknown): void => done(e);
    const onClose = (): void => done(new Error('the sink was closed before ingestion finished'));
    sink.on('drain', onDrain);
    sink.on('error', onError);
    sink.on('close', onClose);
  });
}

function endSink(sink: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (sink.writableFinished) return resolve();
    const cleanup = (): void => {
      sink.off('finish', onFinish);
      sink.off('error', onError);
    };
    const onFinish = (): void => {
      cleanup();
      resolve();
    };
    const onError = (e: unknown): void => {
      cleanup();
      reject(e);
    };
    sink.on('finish', onFinish);
    sink.on('error', onError);
    sink.end();
  });
}

/** Checks header names (CSV header or JSON keys). */
function checkNames(names: string[], maxColumns: number, source: 'header' | 'keys'): void {
  if (names.length > maxColumns) {
    throw new IngestInputError('TOO_MANY_COLUMNS', 'file', `the data has ${names.length} columns, more than the limit of ${maxColumns}`);
  }
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (n.trim() === '') {
      throw new IngestInputError(
        'EMPTY_COLUMN_NAME',
        'file',
        source === 'header' ? `column ${i + 1} of the header has an empty name` : 'a record has an empty key ""',
      );
    }
    if (seen.has(n)) throw new IngestInputError('DUPLICATE_COLUMN', 'file', `duplicate column name ${JSON.stringify(n)} in the header`);
    seen.add(n);
  });
}

/** Ingests one upload or record set. Throws `IngestInputError` (or `IngestRejectedError`) for bad input. */
export async function runIngest(options: IngestOptions): Promise<IngestResult> {
  const sink = options?.sink;
  // Keep sink errors from crashing the process while nobody is waiting on a write.
  let sinkError: unknown = null;
  const onSinkError = (e: unknown): void => {
    sinkError ??= e;
  };
  sink?.on?.('error', onSinkError);
  try {
    checkOptions(options);
    const result = await ingest(options);
    if (sinkError) throw sinkError;
    return result;
  } catch (e) {
    if (sink && typeof sink.destroy === 'function' && !sink.destroyed) {
      // The caller's consumer (e.g. ArtifactStore.put on a PassThrough) sees the error; the no-op
      // listener keeps a sink without its own 'error' listener from crashing the process.
      sink.once('error', () => undefined);
      sink.destroy(e instanceof Error ? e : new Error(String(e)));
    }
    throw e;
  } finally {
    sink?.off?.('error', onSinkError);
  }
}

async function ingest(o: IngestOptions): Promise<IngestResult> {
  const resolved = o.records ? null : resolveFormat(o.fileName, o.format);
  const format: IngestFormat | 'records' = resolved ? resolved.format : 'records';
  const schema = normalizeSchema(o.schema);
  const nullTokens = new NullTokens(o.nullTokens ?? DEFAULT_NULL_TOKENS);
  const policy: ErrorPolicy = o.errorPolicy ?? { mode: 'reject', maxErrorRate: 0 };
  const maxErrorRate = policy.mode === 'reject' ? (policy.maxErrorRate ?? 0) : 1;
  const capacity = Math.floor(o.batchRows ?? DEFAULT_BATCH_ROWS);
  const inferenceRows = Math.floor(o.inferenceRows ?? DEFAULT_INFERENCE_ROWS);
  const maxColumns = o.maxColumns ?? 10000;
  const maxRecordBytes = o.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const rule: CategoricalRule = { ...DEFAULT_CATEGORICAL_RULE, ...(o.categorical ?? {}) };
  const seed = o.seed ?? 42;
  const sink = o.sink;
  const stats: ByteStats = { inputBytes: 0, decodedBytes: 0, gzip: false };

  /** Runs the format's reader over the (re)opened source with the given callbacks. */
  async function read(
    onHeader: (names: string[]) => void,
    onRow: (r: Row) => void | Promise<void>,
    st: ByteStats,
  ): Promise<{ records: number; hadHeader: boolean }> {
    if (o.records) {
      const n = await readRecords(o.records, onRow);
      return { records: n, hadHeader: true };
    }
    try {
      return await readSource(onHeader, onRow, st);
    } catch (e) {
      // e.g. stream-json's "expected a value" on an empty document
      if (e instanceof IngestInputError && e.code === 'JSON_MALFORMED' && st.decodedBytes === 0) {
        throw new IngestInputError('EMPTY_FILE', 'file', 'the file is empty');
      }
      throw e;
    }
  }

  async function readSource(
    onHeader: (names: string[]) => void,
    onRow: (r: Row) => void | Promise<void>,
    st: ByteStats,
  ): Promise<{ records: number; hadHeader: boolean }> {
    const input = await o.source!();
    const bytes = validateUtf8(
      decompress(input, {
        gzipByName: resolved!.gzipByName,
        maxInflatedBytes: o.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES,
        stats: st,
      }),
    );
    switch (resolved!.format) {
      case 'csv':
      case 'tsv': {
        let hadHeader = false;
        const n = await readCsv(
          bytes,
          { delimiter: resolved!.format === 'tsv' ? '\t' : ',', maxRecordBytes },
          (names) => {
            hadHeader = true;
            onHeader(names);
          },
          onRow,
        );
        return { records: Math.max(0, n - 1), hadHeader };
      }
      case 'ndjson':
        return { records: await readNdjson(bytes, maxRecordBytes, onRow), hadHeader: true };
      case 'json':
        return { records: await readJsonArray(bytes, onRow), hadHeader: true };
    }
  }

  const isText = format === 'csv' || format === 'tsv';
  const checkEmpty = (st: ByteStats, hadHeader: boolean): void => {
    if (format === 'records') return;
    if (st.decodedBytes === 0)
      throw new IngestInputError('EMPTY_FILE', 'file', st.gzip ? 'the file is empty (after decompression)' : 'the file is empty');
    if (isText && !hadHeader) throw new IngestInputError('EMPTY_FILE', 'file', 'the file has no header row (only blank lines)');
  };
  // ---- inference state
  let names: string[] = [];
  const inferrers = new Map<string, TypeInferrer>();
  const observe = (r: Row): void => {
    if (isText) {
      const cells = r as string[];
      if (cells.length !== names.length) return; // ragged: reported by the validator
      for (let j = 0; j < cells.length; j++) {
        const s = cells[j]!;
        if (!nullTokens.is(s)) inferrers.get(names[j]!)!.observeText(s);
      }
    } else {
      const obj = r as Record<string, unknown>;
      for (const k in obj) {
        if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
        let inf = inferrers.get(k);
        if (!inf) {
          inf = new TypeInferrer();
          inferrers.set(k, inf);
          names.push(k);
        }
        const v = obj[k];
        if (v === null || v === undefined || (typeof v === 'string' && nullTokens.is(v))) continue;
        inf.observeValue(v);
      }
    }
  };
  const onHeader = (h: string[]): void => {
    checkNames(h, maxColumns, 'header');
    names = h.slice();
    for (const n of names) inferrers.set(n, new TypeInferrer());
  };

  // ---- validation / output state
  let validator: RowValidator | null = null;
  let encoder: ArrowStreamEncoder | null = null;
  let profilers: ColumnProfiler[] = [];
  let doomed = false; // rejection certain: stop producing output, keep collecting errors
  let rowsStored = 0;

  const progress = (): void => {
    if (o.onProgress && validator) o.onProgress(validator.rowNo);
  };

  const flush = (): void | Promise<void> => {
    const v = validator!;
    const len = v.len;
    v.len = 0;
    if (len === 0 || doomed) {
      progress();
      return;
    }
    const cols = v.columns;
    for (let j = 0; j < cols.length; j++) {
      const c = cols[j]!;
      const p = profilers[j]!;
      if (p instanceof NumericProfiler) p.addBatch(c.f64!, c.valid, len, c.type === 'integer');
      else if (p instanceof TimestampProfiler) p.addBatch(c.f64!, c.valid, len);
      else if (c.storage === 'bool') p.addBooleans(c.u8!, c.valid, len);
      // utf8 columns are profiled row by row as rows commit (see RowValidator)
    }
    rowsStored += len;
    const buf = encoder!.encode(len);
    progress();
    return writeChunk(sink, buf);
  };

  const reject = (stoppedEarly: boolean): IngestRejectedError => {
    const v = validator!;
    return new IngestRejectedError(v.errors.slice(), v.errorCount, v.badRows, v.rowNo, maxErrorRate, stoppedEarly);
  };

  /** Fixes the column types and sets up validation and output; returns the schema message write. */
  const lock = (rowsMayFollow: boolean): void | Promise<void> => {
    if (names.length === 0 && !isText) {
      throw new IngestInputError('NO_DATA_ROWS', 'file', 'the records have no fields');
    }
    if (!isText) checkNames(names, maxColumns, 'keys');
    for (const [name] of schema) {
      if (!inferrers.has(name)) {
        throw new IngestInputError(
          'SCHEMA_UNKNOWN_COLUMN',
          'schema',
          `schema column ${JSON.stringify(name)} is not in the data (columns: ${names
            .slice(0, 20)
            .map((n) => JSON.stringify(n))
            .join(', ')}${names.length > 20 ? ', …' : ''})`,
        );
      }
    }
    const note = rowsMayFollow ? ` (type inferred from the first ${inferenceRows} rows; pass a schema to override)` : '';
    const cols: ColumnState[] = names.map((name, index) => {
      const spec: NormalizedSchemaColumn | undefined = schema.get(name);
      const inferredType: ColumnType = inferrers.get(name)!.decide();
      const type = spec?.type ?? inferredType;
      return createColumnState(index, name, type, {
        inferred: !spec?.type,
        nullable: spec?.nullable ?? true,
        categories: spec?.categories ?? null,
        note: spec?.type ? '' : note,
        capacity,
      });
    });
    profilers = cols.map((c) =>
      c.storage === 'f64'
        ? new NumericProfiler(c.name, seed)
        : c.storage === 'ts'
          ? new TimestampProfiler()
          : new CategoricalProfiler(c.name, seed),
    );
    validator = new RowValidator(cols, {
      nullTokens,
      capacity,
      maxErrors: MAX_REPORTED_ERRORS,
      onBatchFull: flush,
      onBadRow: () => {
        if (maxErrorRate === 0) {
          doomed = true;
          if (validator!.errors.length >= MAX_REPORTED_ERRORS) throw reject(true);
        }
      },
      stringProfilers: cols.map((c, j) => (c.storage === 'utf8' ? (profilers[j] as CategoricalProfiler) : null)),
      columnsNote: rowsMayFollow ? ` (the fields were taken from the first ${inferenceRows} records)` : '',
    });
    encoder = new ArrowStreamEncoder(cols);
    return writeChunk(sink, encoder.start());
  };

  const validate = (r: Row): void | Promise<void> =>
    isText ? validator!.textRow(r as string[]) : validator!.objectRow(r as Record<string, unknown>);

  let total: { records: number; hadHeader: boolean };
  if (o.inference === 'full') {
    // Pass 1: inference over every row. Pass 2: validation with the types fixed.
    const st1: ByteStats = { inputBytes: 0, decodedBytes: 0, gzip: false };
    const pass1 = await read(onHeader, observe, st1);
    checkEmpty(st1, pass1.hadHeader);
    if (pass1.records === 0) throw noRows(format);
    const header = names.slice();
    await lock(false);
    total = await read(
      (h) => {
        if (h.length !== header.length || h.some((n, i) => n !== header[i])) throw new Error('the source changed between passes');
      },
      validate,
      stats,
    );
  } else {
    const buffer: Row[] = [];
    let locked = false;
    const replay = async (): Promise<void> => {
      for (let i = 0; i < buffer.length; i++) {
        const p = validate(buffer[i]!);
        buffer[i] = [];
        if (p) await p;
      }
      buffer.length = 0;
    };
    total = await read(
      onHeader,
      (r) => {
        if (locked) return validate(r);
        observe(r);
        buffer.push(r);
        if (buffer.length >= inferenceRows) {
          locked = true;
          const p = lock(true);
          return p ? p.then(replay) : replay();
        }
      },
      stats,
    );
    checkEmpty(stats, total.hadHeader);
    if (total.records === 0) throw noRows(format);
    if (!locked) {
      locked = true;
      await lock(false);
      await replay();
    }
  }

  const v = validator as RowValidator | null;
  if (!v) throw noRows(format);
  await flush();
  const totalRows = v.rowNo;
  if (policy.mode === 'reject' && v.badRows > maxErrorRate * totalRows) throw reject(false);
  if (rowsStored === 0) {
    throw new IngestInputError(
      'NO_VALID_ROWS',
      'file',
      `none of the ${totalRows} rows is valid; first error: row ${v.errors[0]?.row}: ${v.errors[0]?.message}`,
    );
  }
  await writeChunk(sink, encoder!.finish());
  await endSink(sink);

  // ---- result
  const columns: ColumnSchema[] = [];
  const profileColumns: Record<string, ColumnProfile> = {};
  v.columns.forEach((c, j) => {
    const prof = profilers[j]!.finish();
    profileColumns[c.name] = prof;
    const spec = schema.get(c.name);
    let type = c.type;
    let categories: string[] | undefined;
    if (prof.kind === 'categorical' && c.storage === 'utf8') {
      if (c.inferred && type === 'string' && isCategorical(prof.distinct, prof.count, rule)) type = 'categorical';
      if (type === 'categorical') {
        if (c.categories) categories = [...c.categories].sort();
        else if (prof.otherCount === 0) categories = Object.keys(prof.frequencies).sort();
      }
    }
    const nullable = spec?.nullable ?? prof.missing > 0;
    columns.push(categories ? { name: c.name, type, nullable, categories } : { name: c.name, type, nullable });
  });
  return {
    format,
    gzip: stats.gzip,
    rowCount: rowsStored,
    totalRows,
    columns,
    profile: { rowCount: rowsStored, columns: profileColumns },
    errors: v.errors.slice(),
    errorCount: v.errorCount,
    droppedRows: v.badRows,
    inputBytes: stats.inputBytes,
    decodedBytes: stats.decodedBytes,
    arrow: { bytes: encoder!.bytes, batches: encoder!.batches },
  };
}

function noRows(format: IngestFormat | 'records'): IngestInputError {
  switch (format) {
    case 'csv':
    case 'tsv':
      return new IngestInputError('NO_DATA_ROWS', 'file', 'the file has a header row but no data rows');
    case 'records':
      return new IngestInputError('NO_DATA_ROWS', 'records', 'records is an empty array');
    case 'json':
      return new IngestInputError('NO_DATA_ROWS', 'file', 'the JSON array is empty');
    default:
      return new IngestInputError('NO_DATA_ROWS', 'file', 'the file has no records');
  }
}
