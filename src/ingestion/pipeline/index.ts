/** Public surface of the framework-free ingestion pipeline. */
export { runIngest, MAX_REPORTED_ERRORS, DEFAULT_INFERENCE_ROWS } from './ingest-pipeline';
export type { IngestOptions, IngestResult, ErrorPolicy } from './ingest-pipeline';
export { IngestInputError, IngestRejectedError, isIngestInputError } from './errors';
export type { IngestErrorCode, RowError } from './errors';
export { resolveFormat, INGEST_FORMATS, DEFAULT_MAX_INFLATED_BYTES } from './formats';
export type { IngestFormat, ByteInput } from './formats';
export { normalizeSchema, COLUMN_TYPES, DEFAULT_CATEGORICAL_RULE } from './schema-inference';
export type { ColumnSchema, IngestSchema, SchemaColumnInput, CategoricalRule } from './schema-inference';
// the reader of the stored Arrow data is the ML kernel's (a training worker thread reads versions with it)
export { DatasetReader } from '../../ml/dataset-reader';
export type { DatasetChunk, ChunkOptions, ColumnValues, DatasetRow, DatasetValue, ReaderColumn, RowPage } from '../../ml/dataset-reader';
export { DEFAULT_NULL_TOKENS } from './values';
export { DEFAULT_BATCH_ROWS } from './columnar-writer';
