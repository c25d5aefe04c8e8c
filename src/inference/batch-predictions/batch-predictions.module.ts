/**
 * The batch predictions HTTP API (`/api/batch-predictions`): create, read, list, cancel, through
 * `BatchPredictionsPort`; and the inference app's message handlers for the same use cases. No worker and
 * no model runtime: the API only checks references (registry, dataset catalog) and enqueues. Any
 * process serving the management API may import it; the jobs run where `BatchPredictionsWorkersModule` is.
 */
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IngestionServicesModule } from '../../ingestion';
import { ModelsServicesModule } from '../../models';
import { BatchPredictionEntity } from './batch-prediction.entity';
import { BatchPredictionsController } from './batch-predictions.controller';
import { BatchPredictionsService } from './batch-predictions.service';
import { BatchPredictionsPort, LocalBatchPredictions } from './batch-predictions.port';
import { BatchPredictionsRpcController } from './batch-predictions.rpc-controller';
import { portProvider } from '../../platform/rpc/port';

/** The service and its local port, once per process (the service runs the orphan sweep). */
@Module({
  imports: [TypeOrmModule.forFeature([BatchPredictionEntity]), IngestionServicesModule, ModelsServicesModule],
  providers: [BatchPredictionsService, LocalBatchPredictions],
  exports: [LocalBatchPredictions],
})
class BatchPredictionsServicesModule {}

/** The HTTP API: its use cases go through `BatchPredictionsPort` (an inference app over the transport on a split gateway). */
@Module({
  imports: [BatchPredictionsServicesModule],
  controllers: [BatchPredictionsController],
  providers: [portProvider(BatchPredictionsPort, 'batch', LocalBatchPredictions)],
})
export class BatchPredictionsModule {}

/** The inference app's message handlers for batch predictions; answered once bootstrap connects the transport. */
@Module({
  imports: [BatchPredictionsServicesModule],
  controllers: [BatchPredictionsRpcController],
  providers: [{ provide: BatchPredictionsPort, useExisting: LocalBatchPredictions }],
})
export class BatchPredictionsRpcModule {}
