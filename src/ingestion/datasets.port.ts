import { Injectable } from '@nestjs/common';
import type { AdminActor } from '../platform/audit-trail/admin-event-outbox';
import type { PortOf } from '../platform/rpc/port';
import type { NewVersion } from './datasets.service';
import { acceptedVersion, DatasetsService } from './datasets.service';
import type { TransientFileDto } from '../contracts/rpc';
import { ArtifactStore, startTransientFile } from '../platform/artifacts';
import { DatasetVersionDto, type AcceptedVersionDto, type DatasetDto, type DownloadFormat, type RowsPageDto } from './datasets.dto';

/** A stored upload handed to the ingestion service: the version's fields and the artifact reference (`rawSha256`, `rawSizeBytes`). */
export type VersionAcceptance = Omit<NewVersion, 'id' | 'lineage'>;

/**
 * The ingestion use cases the gateway serves (DI token; patterns `RpcPatterns.ingestion`). In a process
 * with the ingestion role it is `LocalDatasets`; on a gateway without it and with a transport target, a
 * client over KILN_TRANSPORT (`portProvider`). Uploads never cross it: the gateway streams the file
 * into the shared artifact store and passes the reference (`acceptVersion`); a download is rendered
 * into a transient file by the ingestion side and streamed by the gateway as it is written (`download`). Every
 * result is JSON-safe (DTOs with ISO 8601 times).
 */
export abstract class DatasetsPort implements PortOf<'ingestion'> {
  abstract listDatasets(): Promise<DatasetDto[]>;
  abstract getDataset(id: string): Promise<DatasetDto>;
  abstract createDataset(name: string, description: string | null, actor: AdminActor): Promise<DatasetDto>;
  abstract acceptVersion(version: VersionAcceptance, actor: AdminActor): Promise<AcceptedVersionDto>;
  abstract listVersions(datasetId: string): Promise<DatasetVersionDto[]>;
  abstract getVersion(datasetId: string, versionId: string): Promise<DatasetVersionDto>;
  abstract rows(datasetId: string, versionId: string, offset: number, limit: number): Promise<RowsPageDto>;
  abstract download(datasetId: string, versionId: string, format: DownloadFormat): Promise<TransientFileDto>;
}

/** `DatasetsPort` on the local `DatasetsService` (the ingestion app, or one process). */
@Injectable()
export class LocalDatasets extends DatasetsPort {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly artifacts: ArtifactStore,
  ) {
    super();
  }

  listDatasets(): Promise<DatasetDto[]> {
    return this.datasets.listDatasets();
  }

  getDataset(id: string): Promise<DatasetDto> {
    return this.datasets.getDataset(id);
  }

  createDataset(name: string, description: string | null, actor: AdminActor): Promise<DatasetDto> {
    return this.datasets.createDataset(name, description, actor);
  }

  async acceptVersion(version: VersionAcceptance, actor: AdminActor): Promise<AcceptedVersionDto> {
    return acceptedVersion(await this.datasets.acceptVersion(version, actor));
  }

  async listVersions(datasetId: string): Promise<DatasetVersionDto[]> {
    return (await this.datasets.listVersions(datasetId)).map(DatasetVersionDto.from);
  }

  async getVersion(datasetId: string, versionId: string): Promise<DatasetVersionDto> {
    return DatasetVersionDto.from(await this.datasets.getVersion(datasetId, versionId));
  }

  rows(datasetId: string, versionId: string, offset: number, limit: number): Promise<RowsPageDto> {
    return this.datasets.rows(datasetId, versionId, offset, limit);
  }

  async download(datasetId: string, versionId: string, format: DownloadFormat): Promise<TransientFileDto> {
    const dataset = await this.datasets.requireDataset(datasetId);
    // the checks (dataset, version ready) throw here, before anything is written: their 404/409 cross the hop
    const { stream, version } = await this.datasets.download(datasetId, versionId, format);
    return {
      id: startTransientFile(this.artifacts, stream),
      fileName: `${dataset.name}-v${version.version}.${format}`,
      contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    };
  }
}
