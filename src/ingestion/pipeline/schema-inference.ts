/**
 * Column types: inference from the data and the optional user schema that overrides it.
 *
 * Inference looks at a prefix of the rows (`inferenceRows`, default 20 000, or every row with
 * `inference: 'full'`), the same trade-off DuckDB and Spark make to stay single-pass. After the
 * prefix, two widenings stay free because they share storage: integer → number (both Float64)
 * and categorical ↔ string (both Utf8; decided at the end from the distinct count). A value that
 * contradicts an inferred type after the prefix (e.g. text in a number column) is a row error;
 * pass a `schema` or `inference: 'full'` to avoid it.
 */
import type { ColumnType } from '../../contracts/dataset-profile';
import { IngestInputError } from './errors';
import { parseBoolean, parseNumber, parseTimestamp } from './values';

export const COLUMN_TYPES: readonly ColumnType[] = ['number', 'integer', 'boolean', 'categorical', 'string', 'timestamp'];

/** Physical storage of a column in the batches and in Arrow. */
export type Storage = 'f64' | 'bool' | 'ts' | 'utf8';

export function storageOf(type: ColumnType): Storage {
  switch (type) {
    case 'number':
    case 'integer':
      return 'f64';
    case 'boolean':
      return 'bool';
    case 'timestamp':
      return 'ts';
    default:
      return 'utf8';
  }
}

/** A column as given by the user in `schema`. Every property but `name` is optional. */
export interface SchemaColumnInput {
  name: string;
  type?: ColumnType;
  /** Default true. False: a missing value is a row error. */
  nullable?: boolean;
  /** Allowed values (implies `categorical` when no type is given). */
  categories?: string[];
}

export interface IngestSchema {
  columns: SchemaColumnInput[];
}

/** A column of the resulting dataset version. */
export interface ColumnSchema {
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** For categorical columns: the allowed (user schema) or observed values, sorted. */
  categories?: string[];
}

export interface NormalizedSchemaColumn {
  name: string;
  type: ColumnType | null;
  /** null: not given (missing values allowed; reported nullable if any are missing). */
  nullable: boolean | null;
  categories: string[] | null;
}

/** Validates the user schema (an object `{columns: [...]}` or an array of columns). */
export function normalizeSchema(input: unknown): Map<string, NormalizedSchemaColumn> {
  const out = new Map<string, NormalizedSchemaColumn>();
  if (input === undefined || input === null) return out;
  const cols: unknown = Array.isArray(input) ? input : (input as { columns?: unknown }).columns;
  if (typeof input !== 'object' || !Array.isArray(cols)) {
    throw new IngestInputError('SCHEMA_INVALID', 'schema', 'schema must be an object {columns: [{name, type?, nullable?, categories?}]}');
  }
  cols.forEach((c: unknown, i: number) => {
    const field = `schema.columns[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) {
      throw new IngestInputError('SCHEMA_INVALID', field, `${field} must be an object {name, type?, nullable?, categories?}`);
    }
    const col = c as Record<string, unknown>;
    if (typeof col.name !== 'string' || col.name === '') {
      throw new IngestInputError('SCHEMA_INVALID', `${field}.name`, `${field}.name must be a non-empty string`);
    }
    if (out.has(col.name)) {
      throw new IngestInputError('SCHEMA_INVALID', `${field}.name`, `column ${JSON.stringify(col.name)} appears twice in the schema`);
    }
    let type: ColumnType | null = null;
    if (col.type !== undefined && col.type !== null) {
      if (typeof col.type !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(col.type)) {
        throw new IngestInputError(
          'SCHEMA_INVALID',
          `${field}.type`,
          `${field}.type ${JSON.stringify(col.type)} is not one of ${COLUMN_TYPES.join(', ')}`,
        );
      }
      type = col.type as ColumnType;
    }
    if (col.nullable !== undefined && typeof col.nullable !== 'boolean') {
      throw new IngestInputError('SCHEMA_INVALID', `${field}.nullable`, `${field}.nullable must be a boolean`);
    }
    let categories: string[] | null = null;
    if (col.categories !== undefined && col.categories !== null) {
      if (!Array.isArray(col.categories) || col.categories.some((v) => typeof v !== 'string')) {
        throw new IngestInputError('SCHEMA_INVALID', `${field}.categories`, `${field}.categories must be an array of strings`);
      }
      if (type !== null && type !== 'categorical' && type !== 'string') {
        throw new IngestInputError(
          'SCHEMA_INVALID',
          `${field}.categories`,
          `${field}.categories is only allowed for categorical columns, not ${type}`,
        );
      }
      categories = [...new Set(col.categories as string[])];
      type = 'categorical';
    }
    out.set(col.name, { name: col.name, type, nullable: typeof col.nullable === 'boolean' ? col.nullable : null, categories });
  });
  return out;
}

/** Tracks which types every non-missing value of a column so far is compatible with. */
export class TypeInferrer {
  nonNull = 0;
  canBool = true;
  canInt = true;
  canNum = true;
  canTs = true;

  observeText(s: string): void {
    this.nonNull++;
    if (this.canNum) {
      const n = parseNumber(s);
      if (n !== n) this.canNum = this.canInt = false;
      else if (this.canInt && !Number.isSafeInteger(n)) this.canInt = false;
    }
    if (this.canBool && parseBoolean(s) < 0) this.canBool = false;
    if (this.canTs) {
      const t = parseTimestamp(s); // plain numbers never parse as timestamps
      if (t !== t) this.canTs = false;
    }
  }

  observeValue(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.observeText(v);
        return;
      case 'number':
        this.nonNull++;
        this.canBool = this.canTs = false;
        if (!Number.isSafeInteger(v)) this.canInt = false;
        return;
      case 'boolean':
        this.nonNull++;
        this.canNum = this.canInt = this.canTs = false;
        return;
      default:
        this.nonNull++;
        this.canBool = this.canNum = this.canInt = this.canTs = false;
    }
  }

  /** The storage-level type; `string` may still become `categorical` at the end. */
  decide(): ColumnType {
    if (this.nonNull === 0) return 'string';
    if (this.canBool) return 'boolean';
    if (this.canInt) return 'integer';
    if (this.canNum) return 'number';
    if (this.canTs) return 'timestamp';
    return 'string';
  }
}

export interface CategoricalRule {
  /** A string column with at most this many distinct values is categorical. Default 50. */
  maxDistinct: number;
  /** ...and at most this fraction of its non-missing values distinct. Default 0.5. */
  maxDistinctRatio: number;
}

export const DEFAULT_CATEGORICAL_RULE: CategoricalRule = { maxDistinct: 50, maxDistinctRatio: 0.5 };

export function isCategorical(distinct: number, count: number, rule: CategoricalRule): boolean {
  return count > 0 && distinct <= rule.maxDistinct && distinct <= Math.max(1, count * rule.maxDistinctRatio);
}
