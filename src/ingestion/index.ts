/**
 * Public facade of the ingestion domain. Other domains import only from here (or src/contracts):
 *  - `IngestionServicesModule` + `DatasetCatalog`: look up ready dataset versions (columns, profile,
 *    row count, content hash) and open a `DatasetReader` over their rows;
 *  - `DatasetReader`: chunked, columnar reads of a version's Arrow data;
 *  - `DatasetsPort`: the dataset reads (local service, or the ingestion app over the transport when split);
 *  - `IngestionModule` / `IngestionRpcModule` / `IngestionWorkersModule`: for the composition root only.
 */
export { DatasetCatalog } from './dataset-catalog';
export type { ReadyDatasetVersion } from './dataset-catalog';
export { IngestionServicesModule } from './ingestion-services.module';
export { DatasetsPort } from './datasets.port';
export { IngestionModule, IngestionRpcModule } from './ingestion.module';
export { IngestionWorkersModule } from './ingestion-workers.module';
export { DatasetReader } from './pipeline';
export type { ChunkOptions, ColumnSchema, ColumnValues, DatasetChunk, DatasetRow, DatasetValue, ReaderColumn, RowPage } from './pipeline';
