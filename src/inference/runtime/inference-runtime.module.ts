import { Module } from '@nestjs/common';
import { ModelsServicesModule } from '../../models';
import { InferenceService } from '../inference.service';

/**
 * The model runtime (loading, warm-up, LRU, routing, dynamic batching) behind `InferenceService`.
 * No routes: imported by the inference HTTP module and by the batch-predictions workers.
 */
@Module({
  imports: [ModelsServicesModule],
  providers: [InferenceService],
  exports: [InferenceService],
})
export class InferenceRuntimeModule {}
