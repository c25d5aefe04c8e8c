import { BadRequestException, Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { RpcPattern, type DatasetsGetPayload } from '../contracts/rpc';
import { answerRpc } from '../platform/rpc/rpc';
import type { DatasetDto } from './datasets.dto';
import { DatasetsService, isUuid } from './datasets.service';

/** The ingestion app's answers to `DatasetsRpcClient` (only reached when the app serves RPC: KILN_TRANSPORT set). */
@Controller()
export class DatasetsRpcController {
  constructor(private readonly datasets: DatasetsService) {}

  @MessagePattern(RpcPattern.DatasetsList)
  list(): Promise<DatasetDto[]> {
    return answerRpc(() => this.datasets.listDatasets());
  }

  @MessagePattern(RpcPattern.DatasetsGet)
  get(@Payload() payload: DatasetsGetPayload): Promise<DatasetDto> {
    return answerRpc(() => {
      // The gateway validated it already (ParseUUIDPipe); a caller that did not gets the same 400.
      if (!isUuid(payload?.id)) throw new BadRequestException('Validation failed (uuid is expected)');
      return this.datasets.getDataset(payload.id);
    });
  }
}
