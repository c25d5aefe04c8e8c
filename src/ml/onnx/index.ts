/**
 * The ONNX engine of the ML kernel, kept out of `src/ml/index.ts` so that code which never serves
 * ONNX (the training worker threads) does not load ONNX Runtime's native library.
 *
 *   onnx-model    an ONNX graph on ONNX Runtime: load from bytes, read its signature, run host tensors
 *   onnx-export   a Kiln-trained Dense stack (mlp, linear templates) → an equivalent ONNX graph
 *   isolated-onnx-model   an imported graph served from its own memory-capped process (onnx-session.child)
 *   threaded-onnx-model   a graph served in process, run on the ONNX serving thread (onnx-session.worker)
 */
export * from './onnx-model';
export * from './onnx-export';
export * from './isolated-onnx-model';
export * from './threaded-onnx-model';
