/**
 * Kiln's ML kernel: framework-free TF.js code, a peer of src/platform. No Nest, database, queue or
 * domain code here (only tfjs, node, libraries and the pure src/platform/util helpers); training (in
 * its worker thread), models, inference and audit import it directly.
 *
 *   types, random, split, target   the input table, seeds, stratified splits, the target spec
 *   preprocessing, templates       fitted feature preprocessing (saved with the model), model templates
 *   trainer, checkpoint            train() with progress, cancel, per-epoch checkpoints and resume
 *   metrics                        the one per-task metrics module (taskMetrics, TASK_METRICS, LOWER_IS_BETTER)
 *   predict, evaluate              serving-side predictRecords; a saved model's metrics on labelled records
 *   dataset-reader                 reads a dataset version's stored Arrow IPC data in chunks / as rows
 *
 *   await TfRuntime.init(config.tfBackend)                  // src/platform/tfjs/tf-runtime
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
export * from './evaluate';
export * from './dataset-reader';
export * from './recommender';
