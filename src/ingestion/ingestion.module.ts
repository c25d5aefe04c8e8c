import { Module } from '@nestjs/common';
import { RpcClients } from '../platform/rpc/rpc-clients';
import { DatasetsController } from './datasets.controller';
import { DatasetsPort, DatasetsRpcClient } from './datasets.port';
import { DatasetsRpcController } from './datasets.rpc-controller';
import { DatasetsService } from './datasets.service';
import { IngestionServicesModule } from './ingestion-services.module';

/**
 * The ingestion HTTP API (datasets, versions, uploads, preview, download); roles `gateway` and `ingestion`.
 * Its dataset reads go through `DatasetsPort`: the local service, or the ingestion app over the transport
 * on a split gateway (RpcClients calls ingestion: config.rpc.ingestion set).
 */
@Module({
  imports: [IngestionServicesModule],
  controllers: [DatasetsController],
  providers: [
    {
      provide: DatasetsPort,
      inject: [RpcClients, DatasetsService],
      useFactory: (clients: RpcClients, local: DatasetsService): DatasetsPort => {
        const caller = clients.get('ingestion');
        return caller ? new DatasetsRpcClient(caller) : local;
      },
    },
  ],
})
export class IngestionModule {}

/** The ingestion app's message handlers (role `ingestion`); answered once bootstrap connects the transport. */
@Module({
  imports: [IngestionServicesModule],
  controllers: [DatasetsRpcController],
})
export class IngestionRpcModule {}
