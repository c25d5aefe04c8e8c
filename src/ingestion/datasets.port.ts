import { RpcPattern, type DatasetsGetPayload, type DatasetsListPayload } from '../contracts/rpc';
import type { RpcCaller } from '../platform/rpc/rpc';
import type { DatasetDto } from './datasets.dto';

/**
 * The dataset reads the gateway serves (DI token). In a process with the ingestion role it is
 * `DatasetsService` itself; on a gateway without that role and with KILN_TRANSPORT set, it is
 * `DatasetsRpcClient`, which asks the ingestion app over the transport.
 */
export abstract class DatasetsPort {
  abstract listDatasets(): Promise<DatasetDto[]>;
  abstract getDataset(id: string): Promise<DatasetDto>;
}

/**
 * `DatasetsPort` over the transport: the patterns of src/contracts/rpc.ts, answered by `DatasetsRpcController`.
 * The caller (and its connection) belongs to `RpcClients`, which closes it.
 */
export class DatasetsRpcClient extends DatasetsPort {
  constructor(private readonly caller: RpcCaller) {
    super();
  }

  listDatasets(): Promise<DatasetDto[]> {
    const payload: DatasetsListPayload = {};
    return this.caller.read(RpcPattern.DatasetsList, payload);
  }

  getDataset(id: string): Promise<DatasetDto> {
    const payload: DatasetsGetPayload = { id };
    return this.caller.read(RpcPattern.DatasetsGet, payload);
  }
}
