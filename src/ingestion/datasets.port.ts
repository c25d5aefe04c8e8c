import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { RpcPattern, type DatasetsGetPayload, type DatasetsListPayload } from '../contracts/rpc';
import type { RpcConfig } from '../platform/config/kiln-config';
import { RpcCaller } from '../platform/rpc/rpc';
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

/** `DatasetsPort` over the transport: the patterns of src/contracts/rpc.ts, answered by `DatasetsRpcController`. */
@Injectable()
export class DatasetsRpcClient extends DatasetsPort implements OnModuleDestroy {
  private readonly caller: RpcCaller;

  constructor(rpc: RpcConfig) {
    super();
    this.caller = new RpcCaller('ingestion', rpc);
  }

  listDatasets(): Promise<DatasetDto[]> {
    const payload: DatasetsListPayload = {};
    return this.caller.read(RpcPattern.DatasetsList, payload);
  }

  getDataset(id: string): Promise<DatasetDto> {
    const payload: DatasetsGetPayload = { id };
    return this.caller.read(RpcPattern.DatasetsGet, payload);
  }

  onModuleDestroy(): Promise<void> {
    return this.caller.close();
  }
}
