/**
 * Public facade of the inference domain:
 *  - `InferenceModule`: the data plane's HTTP APIs, for the composition root only (at init it registers
 *    the serving protocols' error formats and JSON body dialects and installs their 405 answers);
 *  - `BatchScoringModule` (the /api/batch-predictions API) and `BatchScoringWorkersModule` (its
 *    `batch-inference` queue worker), for the composition root only;
 *  - `InferenceRuntimeModule` + `InferenceService`: the model runtime (routing, batching) for other
 *    in-process callers (batch scoring, the audit domain's replays).
 */
export { InferenceModule } from './inference.module';
export { BatchScoringModule, BatchScoringWorkersModule } from './batch-scoring';
export { InferenceRuntimeModule } from './runtime/inference-runtime.module';
export { InferenceService } from './inference.service';
export type { RecordPrediction, RecordPredictionResult } from './inference.service';
export type { ServedModel, HostTensor, ModelSelector, InferenceCall, InferenceResult } from './runtime/served-model';
