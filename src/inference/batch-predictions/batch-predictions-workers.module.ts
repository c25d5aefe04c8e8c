/**
 * The processor of `QueueName.BatchPredictions` (stored name `batch-inference`) only (no routes); imported only by processes with the
 * `inference` role, which own that queue and the model runtime it scores with.
 */
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IngestionServicesModule } from '../../ingestion';
import { ModelsServicesModule } from '../../models';
import { InferenceRuntimeModule } from '../runtime/inference-runtime.module';
import { BatchPredictionsProcessor } from './batch-predictions.processor';
import { BatchPredictionEntity } from './batch-prediction.entity';

@Module({
  imports: [TypeOrmModule.forFeature([BatchPredictionEntity]), IngestionServicesModule, ModelsServicesModule, InferenceRuntimeModule],
  providers: [BatchPredictionsProcessor],
})
export class BatchPredictionsWorkersModule {}
