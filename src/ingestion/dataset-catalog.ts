import type { AdminActor } from '../platform/audit-trail/admin-event-outbox';
import type { DatasetLineage } from '../contracts/dataset-lineage';
import type { DatasetProfile } from '../contracts/dataset-profile';
import type { ColumnSchema, DatasetReader } from './pipeline';

/** A dataset version that is `ready`: its columns, profile and stored data. Immutable. */
export interface ReadyDatasetVersion {
  id: string;
  datasetId: string;
  datasetName: string;
  version: number;
  rowCount: number;
  columns: ColumnSchema[];
  /** The reference profile (histograms, frequencies, reservoir samples) for drift detection. */
  profile: DatasetProfile;
  /** SHA-256 of the stored Arrow IPC data (also its artifact id). */
  contentHash: string;
  /** The Kiln job that produced the rows (batch scoring); null for uploads. */
  lineage: DatasetLineage | null;
  createdAt: Date;
}

/**
 * Read facade of the ingestion domain for other domains (training, batch scoring, drift): look up a
 * ready version and read its rows in chunks. Abstract class so it is its own DI token; bound to
 * `DatasetsService` by `IngestionServicesModule`. Lookups throw Nest `NotFoundException` (unknown id) or
 * `ConflictException` (the version exists but is not `ready`), with messages naming the id.
 */
export abstract class DatasetCatalog {
  abstract getReadyVersion(versionId: string): Promise<ReadyDatasetVersion>;
  /** The newest ready version of a dataset, by dataset id or name. */
  abstract getLatestReadyVersion(datasetIdOrName: string): Promise<ReadyDatasetVersion>;
  /**
   * The ids of the versions a reference names: every version of a dataset (by id or name), or one
   * version (by its id); empty when it names nothing. Filters lists of other domains' jobs by dataset.
   */
  abstract versionIdsOf(datasetOrVersion: string): Promise<string[]>;
  /** A chunked reader over a ready version's rows (logical column types from the version). */
  abstract openReader(versionId: string): Promise<DatasetReader>;
  /**
   * The id of the dataset with this name, created empty when there is none (batch scoring's output);
   * a creation commits with its `dataset.created` event by `actor`.
   */
  abstract ensureDataset(name: string, description: string | null, actor: AdminActor): Promise<string>;
}
