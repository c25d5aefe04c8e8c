/**
 * Record readers: turn a validated UTF-8 byte stream into records, streaming. CSV/TSV through
 * csv-parse, JSON arrays through stream-json, NDJSON line by line with JSON.parse. Records are
 * handed to a synchronous callback; a returned promise (output backpressure) pauses reading.
 */
import { Readable, type Duplex } from 'node:stream';
import { parse as csvParse } from 'csv-parse';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { IngestInputError } from './errors';

export type RecordCallback<T> = (record: T) => void | Promise<void>;

/** Max bytes of one CSV record or NDJSON line (guards memory against an unbalanced quote). */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/**
 * Pulls objects from a readable in synchronous `read()` loops (cheaper than one await per record)
 * and pauses while the callback's promise is pending.
 */
export function consume<T>(stream: Readable | Duplex, fn: RecordCallback<T>, mapError: (e: unknown) => unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let waiting = false;
    let finished = false;
    const fail = (e: unknown): void => {
      if (finished) return;
      finished = true;
      stream.destroy();
      reject(mapError(e));
    };
    const pump = (): void => {
      if (waiting || finished) return;
      try {
        let r: T | null;
        while ((r = stream.read() as T | null) !== null) {
          const p = fn(r);
          if (p) {
            waiting = true;
            p.then(() => {
              waiting = false;
              pump();
            }, fail);
            return;
          }
        }
      } catch (e) {
        fail(e);
      }
    };
    stream.on('readable', pump);
    stream.once('end', () => {
      if (finished) return;
      finished = true;
      resolve();
    });
    stream.once('error', fail);
  });
}

function csvError(e: unknown): unknown {
  if (e instanceof IngestInputError) return e;
  const err = e as { code?: string; message?: string };
  const msg = String(err?.message ?? e);
  switch (err?.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new IngestInputError('CSV_UNBALANCED_QUOTE', 'file', `unbalanced quotes: ${msg}`);
    case 'CSV_MAX_RECORD_SIZE':
      return new IngestInputError(
        'CSV_UNBALANCED_QUOTE',
        'file',
        `a record is larger than the limit (unbalanced quote or missing line breaks?): ${msg}`,
      );
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return new IngestInputError('CSV_INVALID_QUOTE', 'file', `misplaced quote: ${msg}`);
    default:
      if (typeof err?.code === 'string' && err.code.startsWith('CSV_')) {
        return new IngestInputError('CSV_MALFORMED', 'file', `malformed CSV: ${msg}`);
      }
      return e;
  }
}

export interface CsvReadOptions {
  delimiter: string;
  maxRecordBytes: number;
}

/**
 * CSV/TSV with a header row. `onHeader` gets the header; `onRow` every following record (ragged
 * records are passed through for the validator to report). Empty lines are skipped.
 * Returns the number of records including the header (0 = nothing at all).
 */
export async function readCsv(
  bytes: AsyncIterable<Buffer>,
  opts: CsvReadOptions,
  onHeader: (names: string[]) => void,
  onRow: RecordCallback<string[]>,
): Promise<number> {
  const parser = csvParse({
    delimiter: opts.delimiter,
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: opts.maxRecordBytes,
  });
  const input = Readable.from(bytes, { objectMode: false });
  input.on('error', (e) => parser.destroy(e));
  input.pipe(parser);
  let records = 0;
  try {
    await consume<string[]>(
      parser,
      (rec) => {
        if (records++ === 0) {
          onHeader(rec);
          return;
        }
        return onRow(rec);
      },
      csvError,
    );
  } finally {
    input.destroy();
  }
  return records;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

function jsonError(e: unknown): unknown {
  if (e instanceof IngestInputError) return e;
  const msg = String((e as { message?: string })?.message ?? e);
  if (/Top-level object should be an array/i.test(msg)) {
    return new IngestInputError('JSON_NOT_ARRAY_OF_OBJECTS', 'file', 'the JSON document must be an array of objects, [{...}, {...}]');
  }
  if (/parser|json|token|unexpected|expected/i.test(msg)) {
    return new IngestInputError('JSON_MALFORMED', 'file', `malformed JSON: ${msg}`);
  }
  return e;
}

/** A JSON document holding an array of objects. Returns the number of elements. */
export async function readJsonArray(bytes: AsyncIterable<Buffer>, onRow: RecordCallback<Record<string, unknown>>): Promise<number> {
  const parser = streamArray.withParserAsStream();
  const input = Readable.from(bytes, { objectMode: false });
  input.on('error', (e) => parser.destroy(e));
  input.pipe(parser);
  let n = 0;
  try {
    await consume<{ key: number; value: unknown }>(
      parser,
      (item) => {
        n++;
        if (!isPlainObject(item.value)) {
          throw new IngestInputError(
            'JSON_NOT_ARRAY_OF_OBJECTS',
            'file',
            `the JSON document must be an array of objects, but element ${item.key} is ${describe(item.value)}`,
          );
        }
        return onRow(item.value);
      },
      jsonError,
    );
  } finally {
    input.destroy();
  }
  return n;
}

/** Newline-delimited JSON: one object per line, blank lines skipped. Returns the number of records. */
export async function readNdjson(
  bytes: AsyncIterable<Buffer>,
  maxLineBytes: number,
  onRow: RecordCallback<Record<string, unknown>>,
): Promise<number> {
  let carry: Buffer | null = null;
  let line = 0;
  let n = 0;
  const handle = (text: string): void | Promise<void> => {
    line++;
    if (text.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new IngestInputError('JSON_MALFORMED', 'file', `malformed JSON on line ${line}: ${(e as Error).message}`);
    }
    if (!isPlainObject(v)) {
      throw new IngestInputError(
        'JSON_NOT_ARRAY_OF_OBJECTS',
        'file',
        `every NDJSON line must be an object, but line ${line} is ${describe(v)}`,
      );
    }
    n++;
    return onRow(v);
  };
  for await (const chunk of bytes) {
    let buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = null;
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf(10, start)) >= 0) {
      let end = nl;
      if (end > start && buf[end - 1] === 13) end--;
      const p = handle(buf.toString('utf8', start, end));
      if (p) await p;
      start = nl + 1;
    }
    if (start < buf.length) {
      buf = buf.subarray(start);
      if (buf.length > maxLineBytes) {
        throw new IngestInputError('LINE_TOO_LONG', 'file', `NDJSON line ${line + 1} is longer than ${maxLineBytes} bytes`);
      }
      carry = Buffer.from(buf);
    }
  }
  if (carry && carry.length > 0) {
    const p = handle(carry.toString('utf8').replace(/\r$/, ''));
    if (p) await p;
  }
  return n;
}

/** In-memory or async records (the `{records: [...]}` body). */
export async function readRecords(
  records: Iterable<unknown> | AsyncIterable<unknown>,
  onRow: RecordCallback<Record<string, unknown>>,
): Promise<number> {
  if (records === null || typeof records !== 'object' || !(Symbol.iterator in records || Symbol.asyncIterator in records)) {
    throw new IngestInputError('JSON_NOT_ARRAY_OF_OBJECTS', 'records', 'records must be an array of objects');
  }
  let n = 0;
  for await (const r of records as AsyncIterable<unknown>) {
    if (!isPlainObject(r)) {
      throw new IngestInputError(
        'JSON_NOT_ARRAY_OF_OBJECTS',
        'records',
        `records must be an array of objects, but records[${n}] is ${describe(r)}`,
      );
    }
    n++;
    const p = onRow(r);
    if (p) await p;
  }
  return n;
}
