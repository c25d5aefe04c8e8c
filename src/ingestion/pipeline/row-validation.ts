/**
 * Row validation and batch building, the hot loop. Each row is parsed straight into the current
 * batch's typed column buffers at index `len`; a row with any error is not committed (`len` does
 * not advance, its slots are overwritten by the next row), so dropped rows never reach the
 * profile or the stored data. Errors are `{row, column, message}`, the first `maxErrors` kept.
 */
import type { ColumnType } from '../../contracts/dataset-profile';
import { type RowError, quoteValue } from './errors';
import type { CategoricalProfiler } from './profiler';
import { storageOf, type Storage } from './schema-inference';
import { NullTokens, parseBoolean, parseNumber, parseTimestamp } from './values';

export interface ColumnState {
  readonly index: number;
  readonly name: string;
  /** Current logical type (integer may widen to number; string/categorical is settled at the end). */
  type: ColumnType;
  readonly storage: Storage;
  /** Type came from inference (not the user schema). */
  readonly inferred: boolean;
  /** False: a missing value is a row error. */
  readonly nullable: boolean;
  /** Allowed values, from the user schema. */
  readonly categories: Set<string> | null;
  /** Appended to type-mismatch messages, e.g. "(type inferred from the first 20000 rows)". */
  readonly note: string;
  // batch buffers (capacity = batch size)
  readonly f64: Float64Array | null;
  readonly u8: Uint8Array | null;
  /** utf8: the batch's UTF-8 bytes, written as rows arrive (strings die young; no re-encode at flush). */
  bytes: Buffer | null;
  /** utf8: value offsets into `bytes`; offsets[0] = 0, offsets[i + 1] = end of row i. */
  readonly offsets: Int32Array | null;
  /** utf8: the current row's value (profiled when the row commits). */
  current: string | null;
  readonly valid: Uint8Array;
}

export function createColumnState(
  index: number,
  name: string,
  type: ColumnType,
  opts: { inferred: boolean; nullable: boolean; categories: string[] | null; note: string; capacity: number },
): ColumnState {
  const storage = storageOf(type);
  return {
    index,
    name,
    type,
    storage,
    inferred: opts.inferred,
    nullable: opts.nullable,
    categories: opts.categories ? new Set(opts.categories) : null,
    note: opts.note,
    f64: storage === 'f64' || storage === 'ts' ? new Float64Array(opts.capacity) : null,
    u8: storage === 'bool' ? new Uint8Array(opts.capacity) : null,
    bytes: storage === 'utf8' ? Buffer.allocUnsafe(1 << 20) : null,
    offsets: storage === 'utf8' ? new Int32Array(opts.capacity + 1) : null,
    current: null,
    valid: new Uint8Array(opts.capacity),
  };
}

export interface RowValidatorOptions {
  nullTokens: NullTokens;
  capacity: number;
  maxErrors: number;
  /** Called when the batch is full; may return a promise (output backpressure). */
  onBatchFull: () => void | Promise<void>;
  /** Called after each bad row (may throw to stop early). */
  onBadRow: () => void;
  /** For object rows: message suffix explaining where the column set came from. */
  columnsNote: string;
  /** Per column: the profiler of a utf8 column, fed row by row on commit (null for other storages). */
  stringProfilers: Array<CategoricalProfiler | null>;
}

const CATEGORY_LIST_MAX = 10;

function growBytes(col: ColumnState, need: number): void {
  const next = Buffer.allocUnsafe(Math.max(need, col.bytes!.length * 2));
  col.bytes!.copy(next, 0, 0, col.bytes!.length);
  col.bytes = next;
}

export class RowValidator {
  /** Rows in the current batch. */
  len = 0;
  /** Data rows seen (1-based number of the last row). */
  rowNo = 0;
  badRows = 0;
  errorCount = 0;
  readonly errors: RowError[] = [];
  private readonly n: number;
  private readonly byName: Map<string, ColumnState>;
  private readonly utf8Cols: ColumnState[];
  private readonly utf8Profilers: CategoricalProfiler[];

  constructor(
    readonly columns: ColumnState[],
    private readonly opts: RowValidatorOptions,
  ) {
    this.n = columns.length;
    this.byName = new Map(columns.map((c) => [c.name, c]));
    this.utf8Cols = columns.filter((c) => c.storage === 'utf8' && opts.stringProfilers[c.index]);
    this.utf8Profilers = this.utf8Cols.map((c) => opts.stringProfilers[c.index]!);
  }

  private error(column: string | null, message: string): void {
    this.errorCount++;
    if (this.errors.length < this.opts.maxErrors) this.errors.push({ row: this.rowNo, column, message });
  }

  private commit(ok: boolean): void | Promise<void> {
    if (ok) {
      const i = this.len;
      const cols = this.utf8Cols;
      for (let k = 0; k < cols.length; k++) {
        const c = cols[k]!;
        if (c.valid[i] === 1) this.utf8Profilers[k]!.add(c.current!);
        else this.utf8Profilers[k]!.missing++;
      }
      if (++this.len === this.opts.capacity) return this.opts.onBatchFull();
      return;
    }
    this.badRows++;
    this.opts.onBadRow();
  }

  /** Missing value at slot i. Returns false when that is an error. */
  private missing(col: ColumnState, i: number): boolean {
    col.valid[i] = 0;
    if (col.offsets !== null) col.offsets[i + 1] = col.offsets[i]!;
    if (col.nullable) return true;
    this.error(col.name, 'missing value in a non-nullable column');
    return false;
  }

  private typeError(col: ColumnState, v: unknown): false {
    const what =
      col.type === 'integer'
        ? 'an integer'
        : col.storage === 'f64'
          ? 'a number'
          : col.storage === 'bool'
            ? 'a boolean (true/false)'
            : col.storage === 'ts'
              ? 'an ISO 8601 timestamp'
              : 'a string';
    this.error(col.name, `expected ${what}${col.note}, got ${quoteValue(v)}`);
    return false;
  }

  private categoryError(col: ColumnState, s: string): false {
    const list = [...col.categories!];
    const shown = list
      .slice(0, CATEGORY_LIST_MAX)
      .map((c) => JSON.stringify(c))
      .join(', ');
    this.error(col.name, `${quoteValue(s)} is not an allowed category (${shown}${list.length > CATEGORY_LIST_MAX ? ', …' : ''})`);
    return false;
  }

  /** Parses a non-missing text cell into slot i. */
  private text(col: ColumnState, i: number, s: string): boolean {
    switch (col.storage) {
      case 'f64': {
        const v = parseNumber(s);
        if (v !== v) return this.typeError(col, s);
        if (col.type === 'integer' && !Number.isSafeInteger(v)) {
          if (!col.inferred) return this.typeError(col, s);
          col.type = 'number'; // free widening: same storage
        }
        col.f64![i] = v;
        break;
      }
      case 'utf8': {
        if (col.categories !== null && !col.categories.has(s)) return this.categoryError(col, s);
        const offsets = col.offsets!;
        const start = offsets[i]!;
        if (start + s.length * 3 > col.bytes!.length) growBytes(col, start + s.length * 3);
        offsets[i + 1] = start + col.bytes!.write(s, start, 'utf8');
        col.current = s;
        break;
      }
      case 'bool': {
        const b = parseBoolean(s);
        if (b < 0) return this.typeError(col, s);
        col.u8![i] = b;
        break;
      }
      case 'ts': {
        const t = parseTimestamp(s);
        if (t !== t) return this.typeError(col, s);
        col.f64![i] = t;
        break;
      }
    }
    col.valid[i] = 1;
    return true;
  }

  /** A CSV record (array of strings). */
  textRow(cells: string[]): void | Promise<void> {
    this.rowNo++;
    const n = this.n;
    if (cells.length !== n) {
      this.error(null, `row has ${cells.length} field${cells.length === 1 ? '' : 's'}, expected ${n}`);
      return this.commit(false);
    }
    const i = this.len;
    const cols = this.columns;
    const nulls = this.opts.nullTokens;
    let ok = true;
    for (let j = 0; j < n; j++) {
      const col = cols[j]!;
      const s = cells[j]!;
      if (nulls.is(s)) {
        if (!this.missing(col, i)) ok = false;
      } else if (!this.text(col, i, s)) ok = false;
    }
    return this.commit(ok);
  }

  /** A JSON record. Missing keys are missing values; keys outside the columns are row errors. */
  objectRow(obj: Record<string, unknown>): void | Promise<void> {
    this.rowNo++;
    const i = this.len;
    const cols = this.columns;
    const n = this.n;
    let ok = true;
    let present = 0;
    for (let j = 0; j < n; j++) {
      const col = cols[j]!;
      const v = obj[col.name];
      if (v === undefined || v === null) {
        if (v === null || Object.prototype.hasOwnProperty.call(obj, col.name)) present++;
        if (!this.missing(col, i)) ok = false;
        continue;
      }
      present++;
      if (!this.value(col, i, v)) ok = false;
    }
    let keys = 0;
    for (const k in obj) if (Object.prototype.hasOwnProperty.call(obj, k)) keys++;
    if (keys > present) {
      const extra = Object.keys(obj).filter((k) => !this.byName.has(k));
      for (const k of extra.slice(0, 3)) this.error(null, `unexpected field ${JSON.stringify(k)}${this.opts.columnsNote}`);
      ok = false;
    }
    return this.commit(ok);
  }

  private value(col: ColumnState, i: number, v: unknown): boolean {
    switch (typeof v) {
      case 'string':
        if (this.opts.nullTokens.is(v)) return this.missing(col, i);
        return this.text(col, i, v);
      case 'number':
        if (col.storage === 'f64') {
          if (col.type === 'integer' && !Number.isSafeInteger(v)) {
            if (!col.inferred) return this.typeError(col, v);
            col.type = 'number';
          }
          col.f64![i] = v;
          col.valid[i] = 1;
          return true;
        }
        if (col.storage === 'utf8') return this.text(col, i, String(v));
        return this.typeError(col, v);
      case 'boolean':
        if (col.storage === 'bool') {
          col.u8![i] = v ? 1 : 0;
          col.valid[i] = 1;
          return true;
        }
        if (col.storage === 'utf8') return this.text(col, i, v ? 'true' : 'false');
        return this.typeError(col, v);
      default:
        if (col.storage === 'utf8') return this.text(col, i, JSON.stringify(v));
        return this.typeError(col, v);
    }
  }

  column(name: string): ColumnState | undefined {
    return this.byName.get(name);
  }
}
