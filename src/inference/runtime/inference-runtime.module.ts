import { Module } from '@nestjs/common';
import { ModelsServicesModule } from '../../models';
import { InferenceService } from '../inference.service';
import { RecommendService } from '../recommend/recommend.service';

/**
 * The model runtime (loading, warm-up, LRU, routing, dynamic batching) behind `InferenceService`.
 * No routes: imported by the inference HTTP module and by the batch-predictions workers. The
 * recommendations service lives here too: /recommend and batch recommendations share one recommender
 * state (normalised item matrix) per loaded version.
 */
@Module({
  imports: [ModelsServicesModule],
  providers: [InferenceService, RecommendService],
  exports: [InferenceService, RecommendService],
})
export class InferenceRuntimeModule {}
