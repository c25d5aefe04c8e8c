import { onnxRuntimeInfo } from '../../ml/onnx';
import { TfRuntime } from './tf-runtime';

/**
 * What this process runs models on, as /api/platform, the /v2 server metadata and the start-up log
 * report it: the TF.js backend chosen by KILN_TF_BACKEND (null before this process initialised TF.js,
 * e.g. a gateway-only process), with the backends `auto` skipped and why (a missing native package, no
 * CUDA), and the ONNX Runtime build with its execution providers.
 */
export interface ServingEngines {
  tfjs: {
    backend: string;
    provider: string;
    version: string;
    requested: string;
    skipped: Array<{ backend: string; reason: string }>;
  } | null;
  onnxruntime: { provider: string; version: string; executionProviders: string[] };
}

export function servingEngines(): ServingEngines {
  const tf = TfRuntime.info();
  return {
    tfjs: tf ? { backend: tf.backend, provider: tf.provider, version: tf.tfjsVersion, requested: tf.requested, skipped: tf.skipped } : null,
    onnxruntime: onnxRuntimeInfo(),
  };
}
