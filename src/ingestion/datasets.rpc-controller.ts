import { rpcPortController } from '../platform/rpc/port';
import { actor, int, nullable, object, oneOf, shape, text, uuid } from '../platform/rpc/port-args';
import { DATASET_NAME_PATTERN, DOWNLOAD_FORMATS, MAX_PREVIEW_ROWS } from './datasets.dto';
import { DatasetsPort } from './datasets.port';

/** The ingestion app's answers to `RpcPatterns.ingestion` (only reached when the app serves RPC: KILN_TRANSPORT set). */
export const DatasetsRpcController = rpcPortController(DatasetsPort, 'ingestion', 'DatasetsRpcController', {
  listDatasets: {},
  getDataset: { id: uuid() },
  createDataset: { name: text(128, DATASET_NAME_PATTERN), description: nullable(text(2000)), actor: actor() },
  acceptVersion: {
    version: shape({ datasetId: uuid(), rawSha256: text(64, /^[0-9a-f]{64}$/), options: object() }),
    actor: actor(),
  },
  listVersions: { datasetId: uuid() },
  getVersion: { datasetId: uuid(), versionId: uuid() },
  rows: { datasetId: uuid(), versionId: uuid(), offset: int(0), limit: int(1, MAX_PREVIEW_ROWS) },
  download: { datasetId: uuid(), versionId: uuid(), format: oneOf(DOWNLOAD_FORMATS) },
});
