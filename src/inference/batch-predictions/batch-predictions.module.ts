/**
 * The batch predictions HTTP API (`/api/batch-predictions`): create, read, list, cancel. No worker and
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

@Module({
  imports: [TypeOrmModule.forFeature([BatchPredictionEntity]), IngestionServicesModule, ModelsServicesModule],
  controllers: [BatchPredictionsController],
  providers: [BatchPredictionsService],
})
export class BatchPredictionsModule {}
