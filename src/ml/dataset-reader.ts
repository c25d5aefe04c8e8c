/**
 * Reads a dataset version's Arrow IPC stream (as ingestion's columnar writer stores it) back in
 * chunks of rows, for training (in its worker thread), batch scoring and the paginated preview.
 * Streamed: one record batch in memory at a time (plus the chunk being assembled). Part of the ML
 * kernel so that a training worker thread reads a dataset version itself without loading a domain;
 * the ingestion facade re-exports it.
 *
 * Chunk values per column:
 *  - number, integer, timestamp (epoch ms), boolean (1/0): Float64Array, NaN = missing;
 *  - categorical, string: (string | null)[].
 */
import { DataType, RecordBatchReader, type Data, type RecordBatch } from 'apache-arrow';
import type { Readable } from 'node:stream';
import type { ColumnType } from './types';

/** The bytes of an Arrow IPC stream. */
export type ByteInput = Readable | AsyncIterable<Uint8Array | string> | Uint8Array;

/** The part of the artifact store the reader needs (platform's ArtifactStore has it). */
export interface ArtifactSource {
  get(sha256: string): Promise<ByteInput>;
}

export type ColumnValues = Float64Array | Array<string | null>;
export type DatasetValue = number | string | boolean | null;
export type DatasetRow = Record<string, DatasetValue>;

/** A column and its logical type (integer, categorical: the version's schema, not the Arrow types, knows them). */
export interface ReaderColumn {
  name: string;
  type: ColumnType;
}

export interface DatasetChunk {
  /** Dataset index of the chunk's first row. */
  offset: number;
  length: number;
  columns: ReaderColumn[];
  values: Record<string, ColumnValues>;
}

export interface ChunkOptions {
  /** Rows per chunk (the last may be shorter). Default 65 536. */
  chunkRows?: number;
  /** Only these columns (in this order). Default all. */
  columns?: string[];
  /** First row (0-based). Default 0. */
  offset?: number;
  /** Max rows in total. Default all. */
  limit?: number;
}

export interface RowPage {
  columns: ReaderColumn[];
  offset: number;
  rows: DatasetRow[];
  /** True when rows exist after this page. */
  hasMore: boolean;
}

type Kind = 'f64' | 'bool' | 'ts' | 'utf8';

function kindOf(type: DataType): Kind {
  if (DataType.isFloat(type) || DataType.isInt(type)) return 'f64';
  if (DataType.isBool(type)) return 'bool';
  if (DataType.isTimestamp(type)) return 'ts';
  if (DataType.isUtf8(type)) return 'utf8';
  throw new Error(`unsupported Arrow type ${String(type)} in dataset`);
}

function logicalOf(kind: Kind): ColumnType {
  return kind === 'f64' ? 'number' : kind === 'bool' ? 'boolean' : kind === 'ts' ? 'timestamp' : 'string';
}

function isValid(d: Data, i: number): boolean {
  if (d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0) return true;
  const k = d.offset + i;
  return ((d.nullBitmap[k >> 3]! >> (k & 7)) & 1) === 1;
}

/** Decodes rows [from, to) of one column chunk. */
function decode(d: Data, kind: Kind, from: number, to: number): ColumnValues {
  const n = to - from;
  switch (kind) {
    case 'f64': {
      const src = d.values as ArrayLike<number>;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = isValid(d, from + i) ? Number(src[from + i]) : NaN;
      return out;
    }
    case 'bool': {
      const bits = d.values as Uint8Array;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const k = d.offset + from + i;
        out[i] = isValid(d, from + i) ? (bits[k >> 3]! >> (k & 7)) & 1 : NaN;
      }
      return out;
    }
    case 'ts': {
      const big = d.values as BigInt64Array;
      const words = new Int32Array(big.buffer, big.byteOffset, big.length * 2);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const k = from + i;
        out[i] = isValid(d, k) ? words[2 * k + 1]! * 4294967296 + (words[2 * k]! >>> 0) : NaN;
      }
      return out;
    }
    case 'utf8': {
      const offsets = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const k = from + i;
        out[i] = isValid(d, k) ? buf.toString('utf8', offsets[k]!, offsets[k + 1]!) : null;
      }
      return out;
    }
  }
}

function concatValues(parts: ColumnValues[], total: number): ColumnValues {
  if (parts.length === 1) return parts[0]!;
  if (parts[0] instanceof Float64Array) {
    const out = new Float64Array(total);
    let at = 0;
    for (const p of parts as Float64Array[]) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  return ([] as Array<string | null>).concat(...(parts as Array<Array<string | null>>));
}

export class DatasetReader {
  constructor(
    private readonly open: () => ByteInput | Promise<ByteInput>,
    /** The version's columns (from the ingest result): gives logical types (integer, categorical). */
    private readonly schemaColumns?: readonly ReaderColumn[],
  ) {}

  /** Reader over an artifact in the store. */
  static fromArtifact(store: ArtifactSource, sha256: string, columns?: readonly ReaderColumn[]): DatasetReader {
    return new DatasetReader(() => store.get(sha256), columns);
  }

  private async openReader(): Promise<AsyncIterable<RecordBatch> & { schema: { fields: Array<{ name: string; type: DataType }> } }> {
    const input = await this.open();
    const source = input instanceof Uint8Array ? input : (input as AsyncIterable<Uint8Array>);
    const reader = await RecordBatchReader.from(source as AsyncIterable<Uint8Array>);
    await reader.open();
    return reader as unknown as AsyncIterable<RecordBatch> & { schema: { fields: Array<{ name: string; type: DataType }> } };
  }

  private logical(name: string, kind: Kind): ColumnType {
    return this.schemaColumns?.find((c) => c.name === name)?.type ?? logicalOf(kind);
  }

  /** Columns and their logical types. */
  async columns(): Promise<ReaderColumn[]> {
    const reader = await this.openReader();
    const cols = reader.schema.fields.map((f) => ({ name: f.name, type: this.logical(f.name, kindOf(f.type)) }));
    await (reader as unknown as { cancel?: () => Promise<void> }).cancel?.();
    return cols;
  }

  /** The dataset in chunks of `chunkRows` rows. */
  async *chunks(opts: ChunkOptions = {}): AsyncGenerator<DatasetChunk> {
    const chunkRows = Math.max(1, Math.floor(opts.chunkRows ?? 65536));
    const start = Math.max(0, Math.floor(opts.offset ?? 0));
    const end = opts.limit === undefined ? Infinity : start + Math.max(0, Math.floor(opts.limit));
    if (end <= start) return;
    const reader = await this.openReader();
    const fields = reader.schema.fields;
    const wanted = opts.columns ?? fields.map((f) => f.name);
    const picks = wanted.map((name) => {
      const idx = fields.findIndex((f) => f.name === name);
      if (idx < 0) throw new Error(`no column ${JSON.stringify(name)} in the dataset`);
      const kind = kindOf(fields[idx]!.type);
      return { name, idx, kind, type: this.logical(name, kind) };
    });
    const columns: ReaderColumn[] = picks.map(({ name, type }) => ({ name, type }));
    let pending: ColumnValues[][] = picks.map(() => []);
    let pendingRows = 0;
    let pendingOffset = start;
    let batchStart = 0;
    const emit = (): DatasetChunk => {
      const values: Record<string, ColumnValues> = {};
      picks.forEach((p, j) => (values[p.name] = concatValues(pending[j]!, pendingRows)));
      const chunk = { offset: pendingOffset, length: pendingRows, columns, values };
      pendingOffset += pendingRows;
      pending = picks.map(() => []);
      pendingRows = 0;
      return chunk;
    };
    try {
      for await (const batch of reader) {
        const rows = batch.numRows;
        const bStart = batchStart;
        batchStart += rows;
        if (bStart + rows <= start) continue;
        if (bStart >= end) break;
        let from = Math.max(0, start - bStart);
        const to = Math.min(rows, end - bStart);
        const datas = picks.map((p) => batch.getChildAt(p.idx)!.data[0]!);
        while (from < to) {
          const take = Math.min(to - from, chunkRows - pendingRows);
          picks.forEach((p, j) => pending[j]!.push(decode(datas[j]!, p.kind, from, from + take)));
          pendingRows += take;
          from += take;
          if (pendingRows === chunkRows) yield emit();
        }
      }
      if (pendingRows > 0) yield emit();
    } finally {
      await (reader as unknown as { cancel?: () => Promise<void> }).cancel?.();
    }
  }

  /** Rows [offset, offset + limit) as plain objects (timestamps as ISO 8601, booleans as booleans). */
  async readRows(offset: number, limit: number, columns?: string[]): Promise<RowPage> {
    const rows: DatasetRow[] = [];
    let cols: ReaderColumn[] | null = null;
    // Read one row more than asked to tell whether there is a next page.
    for await (const chunk of this.chunks({ offset, limit: limit + 1, chunkRows: limit + 1, columns })) {
      cols = chunk.columns;
      rows.push(...DatasetReader.rowsOf(chunk));
    }
    const hasMore = rows.length > limit;
    if (hasMore) rows.length = limit;
    return { columns: cols ?? (await this.columns()), offset, rows, hasMore };
  }

  /** A chunk as plain row objects. */
  static rowsOf(chunk: DatasetChunk): DatasetRow[] {
    const out: DatasetRow[] = new Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) {
      const row: DatasetRow = {};
      for (const c of chunk.columns) {
        const v = chunk.values[c.name]![i]!;
        if (typeof v === 'number') {
          if (v !== v) row[c.name] = null;
          else if (c.type === 'timestamp') row[c.name] = new Date(v).toISOString();
          else if (c.type === 'boolean') row[c.name] = v === 1;
          else row[c.name] = v;
        } else row[c.name] = v;
      }
      out[i] = row;
    }
    return out;
  }
}
