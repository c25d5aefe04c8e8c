import { Module } from '@nestjs/common';
import { portProvider } from '../platform/rpc/port';
import { DatasetsController } from './datasets.controller';
import { DatasetsPort, LocalDatasets } from './datasets.port';
import { DatasetsRpcController } from './datasets.rpc-controller';
import { IngestionServicesModule } from './ingestion-services.module';

/**
 * The ingestion HTTP API (datasets, versions, uploads, preview, download); roles `gateway` and `ingestion`.
 * Its use cases go through `DatasetsPort`: the local service, or the ingestion app over the transport
 * on a split gateway (RpcClients calls ingestion: config.rpc.targets.ingestion set).
 */
@Module({
  imports: [IngestionServicesModule],
  controllers: [DatasetsController],
  providers: [LocalDatasets, portProvider(DatasetsPort, 'ingestion', LocalDatasets)],
})
export class IngestionModule {}

/** The ingestion app's message handlers (role `ingestion`); answered once bootstrap connects the transport. */
@Module({
  imports: [IngestionServicesModule],
  controllers: [DatasetsRpcController],
  providers: [LocalDatasets, { provide: DatasetsPort, useExisting: LocalDatasets }],
})
export class IngestionRpcModule {}
