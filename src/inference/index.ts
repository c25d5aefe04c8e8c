/**
 * Public facade of the inference domain:
 *  - `InferenceModule`: the data plane's HTTP APIs, for the composition root only (at init it registers
 *    the serving protocols' error formats and JSON body dialects and installs their 405 answers);
 *  - `BatchPredictionsModule` (the /api/batch-predictions API) and `BatchPredictionsWorkersModule` (its
 *    `QueueName.BatchPredictions` queue worker), for the composition root only; both in batch-predictions/;
 *  - `InferenceRuntimeModule` + `InferenceService`: the model runtime (routing, batching) for other
 *    in-process callers (batch predictions, the audit domain's replays).
 */
export { InferenceGatewayModule, InferenceModule, InferenceRpcModule } from './inference.module';
export { BatchPredictionsModule, BatchPredictionsRpcModule, BatchPredictionsWorkersModule } from './batch-predictions';
export { InferenceRuntimeModule } from './runtime/inference-runtime.module';
export { InferenceService } from './inference.service';
export type { RecordPrediction, RecordPredictionResult } from './inference.service';
export type { ServedModel, HostTensor, ModelSelector, InferenceCall, InferenceResult } from './runtime/served-model';
