/**
 * Typed errors of the ingestion pipeline. Everything the caller did wrong (bad file, bad schema,
 * too many bad rows) is an `IngestInputError`; the HTTP layer maps `status` to the response code
 * and puts `code`, `field` and `message` in the problem+json body. Anything else thrown by the
 * pipeline is an internal failure (5xx / job retry).
 */

export type IngestErrorCode =
  | 'UNKNOWN_FORMAT'
  | 'EMPTY_FILE'
  | 'NO_DATA_ROWS'
  | 'NO_VALID_ROWS'
  | 'EMPTY_COLUMN_NAME'
  | 'DUPLICATE_COLUMN'
  | 'TOO_MANY_COLUMNS'
  | 'INVALID_UTF8'
  | 'GZIP_CORRUPT'
  | 'GZIP_TOO_LARGE'
  | 'CSV_UNBALANCED_QUOTE'
  | 'CSV_INVALID_QUOTE'
  | 'CSV_MALFORMED'
  | 'JSON_MALFORMED'
  | 'JSON_NOT_ARRAY_OF_OBJECTS'
  | 'LINE_TOO_LONG'
  | 'SCHEMA_INVALID'
  | 'SCHEMA_UNKNOWN_COLUMN'
  | 'ERROR_POLICY_INVALID'
  | 'OPTIONS_INVALID'
  | 'ERROR_RATE_EXCEEDED';

/** Suggested HTTP status per code (the HTTP layer may override). */
const STATUS: Record<IngestErrorCode, 400 | 413 | 415 | 422> = {
  UNKNOWN_FORMAT: 415,
  EMPTY_FILE: 422,
  NO_DATA_ROWS: 422,
  NO_VALID_ROWS: 422,
  EMPTY_COLUMN_NAME: 422,
  DUPLICATE_COLUMN: 422,
  TOO_MANY_COLUMNS: 422,
  INVALID_UTF8: 422,
  GZIP_CORRUPT: 422,
  GZIP_TOO_LARGE: 413,
  CSV_UNBALANCED_QUOTE: 422,
  CSV_INVALID_QUOTE: 422,
  CSV_MALFORMED: 422,
  JSON_MALFORMED: 422,
  JSON_NOT_ARRAY_OF_OBJECTS: 422,
  LINE_TOO_LONG: 422,
  SCHEMA_INVALID: 400,
  SCHEMA_UNKNOWN_COLUMN: 422,
  ERROR_POLICY_INVALID: 400,
  OPTIONS_INVALID: 400,
  ERROR_RATE_EXCEEDED: 422,
};

export class IngestInputError extends Error {
  /** Suggested HTTP status. */
  readonly status: 400 | 413 | 415 | 422;
  constructor(
    readonly code: IngestErrorCode,
    /** Which input is at fault: `file`, `format`, `schema`, `schema.columns[2].type`, `errorPolicy`, `records`... */
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'IngestInputError';
    this.status = STATUS[code];
  }

  toJSON(): { code: IngestErrorCode; field: string; message: string; status: number } {
    return { code: this.code, field: this.field, message: this.message, status: this.status };
  }
}

/** One bad value or row. `row` is the 1-based data row number (the CSV header is not counted). */
export interface RowError {
  row: number;
  /** Column name; `null` when the whole row is at fault (ragged row, unexpected key). */
  column: string | null;
  message: string;
}

/** The error policy rejected the data: more bad rows than `maxErrorRate` allows. */
export class IngestRejectedError extends IngestInputError {
  constructor(
    readonly errors: RowError[],
    readonly errorCount: number,
    readonly badRows: number,
    readonly totalRows: number,
    readonly maxErrorRate: number,
    /** True when ingestion stopped early because rejection was certain (counts are lower bounds). */
    readonly stoppedEarly: boolean,
  ) {
    const first = errors[0];
    const where = first ? ` First: row ${first.row}${first.column !== null ? `, column "${first.column}"` : ''}: ${first.message}` : '';
    super(
      'ERROR_RATE_EXCEEDED',
      'file',
      `${stoppedEarly ? 'at least ' : ''}${badRows} of ${stoppedEarly ? 'at least ' : ''}${totalRows} rows are invalid, ` +
        `more than the allowed error rate ${maxErrorRate}.${where}`,
    );
    this.name = 'IngestRejectedError';
  }

  override toJSON(): ReturnType<IngestInputError['toJSON']> & { errors: RowError[]; errorCount: number } {
    return { ...super.toJSON(), errors: this.errors, errorCount: this.errorCount };
  }
}

export function isIngestInputError(e: unknown): e is IngestInputError {
  return e instanceof IngestInputError;
}

/** Quotes a user value for an error message, truncated. */
export function quoteValue(v: unknown, max = 60): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
