/**
 * Kiln's framework-free TF.js training core. The Nest training domain (jobs, queues, registry) and the
 * inference domain (record API) call these; nothing here knows about Nest, the database or queues.
 *
 *   await TfRuntime.init()                                  // src/platform/tfjs/tf-runtime
 *   const r = await train({table, target, ...}, {onProgress, onCheckpoint, resumeFrom, signal})
 *   const bytes = await saveModelToBytes(r.model)           // src/platform/tfjs/artifact-io
 *   // store bytes + r.preprocessing + r.target + r.signature + r.metrics with the model version
 *   predictRecords(model, r.preprocessing, r.target, records)   // at serving time
 */
export * from './types';
export * from './random';
export * from './split';
export * from './target';
export * from './preprocessing';
export * from './templates';
export * from './metrics';
export * from './checkpoint';
export * from './trainer';
export * from './predict';
