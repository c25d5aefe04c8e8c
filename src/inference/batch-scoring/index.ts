/** Batch scoring (`/api/batch-predictions`, queue `batch-inference`): for the composition root and the inference facade. */
export { BatchScoringModule } from './batch-scoring.module';
export { BatchScoringWorkersModule } from './batch-scoring-workers.module';
