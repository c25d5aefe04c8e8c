/** Batch predictions (`/api/batch-predictions`, `QueueName.BatchPredictions`): for the composition root and the inference facade. */
export { BatchPredictionsModule, BatchPredictionsRpcModule } from './batch-predictions.module';
export { BatchPredictionsWorkersModule } from './batch-predictions-workers.module';
