import type * as ml from '../../ml';

/**
 * What every serving protocol sees of a model version: its identity, its tensor signature and, for
 * Kiln-trained models, the record-level contract (features, preprocessing, target).
 *
 * One runtime serves all three protocols. The protocol layers (record API, TF Serving v1, OIP v2) turn
 * their request bodies into `HostTensor`s and the runtime checks them against `inputs` (the shared
 * validation core), batches them and answers with `HostTensor`s in `outputs` order.
 */
export type TensorDtype = 'float32' | 'int32' | 'bool' | 'string' | 'int64' | 'float64';

/** Signature entry; `-1` marks a variable dimension (the batch dimension is always `-1`). */
export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  /** Named signatures of graph models: the graph tensor behind `name` (default: `name`). */
  tensor?: string;
}

/** A named signature beside the default one (imported graph models; TF Serving's SignatureDefs). */
export interface SignatureDef {
  method: 'predict' | 'classify' | 'regress';
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * A tensor in host memory, row-major. `bool` data is 0/1 in a Uint8Array; `string` data (TF's
 * DT_STRING, OIP's BYTES) is one byte string per element, as TF.js holds them. `float64` and `int64`
 * (imported ONNX graphs only) are Float64Arrays; int64 values are exact within ±2^53 (what a JSON
 * number holds exactly), converted to 64-bit integers at the ONNX Runtime boundary and on the wire.
 */
export interface HostTensor {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array | Float64Array | Uint8Array[];
}

/** OIP v2 platform strings: Kiln's own for TF.js, Triton's for ONNX Runtime. */
export type ModelPlatform = 'tensorflowjs_layers' | 'tensorflowjs_graph' | 'onnxruntime_onnx';

/** The engine that runs a loaded version: TF.js (layers and graph models) or ONNX Runtime. */
export type ServingEngine = 'tfjs' | 'onnxruntime';

export interface ServedModel {
  name: string;
  version: number;
  /** model_versions.id */
  versionId: string;
  source: 'trained' | 'imported';
  /** What the registry stores: a TF.js layers or graph model, or an imported ONNX graph. */
  format: 'layers-model' | 'graph-model' | 'onnx';
  /** What runs it in this process (a Kiln-trained version may run on either; see the model's serving engine). */
  engine: ServingEngine;
  platform: ModelPlatform;
  task: 'binary' | 'multiclass' | 'regression' | 'recommendation' | null;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Further signatures by name (never `serving_default`, which is `inputs`/`outputs`); absent = none. */
  signatures?: Record<string, SignatureDef>;
  /** Kiln-trained models: the named source features of the record API, with their column types. */
  features: Array<{ name: string; type: string }> | null;
  preprocessing: ml.PreprocessingSpec | null;
  target: ml.TargetSpec | null;
}

/**
 * Which version answers: the models domain's version-or-alias selector. With neither, the model's
 * deployment routes (canary weights) decide, else the `production` alias.
 */
export type ModelSelector = import('../../models').VersionSelector;

/** How the call arrived; `batch` = a chunk of a batch prediction (audited in aggregate). */
export type ServingProtocol = 'record' | 'recommend' | 'tfserving' | 'oip' | 'oip-grpc' | 'batch';

/** Who asks and how: for routing stickiness (request id), audit and metrics. */
export interface InferenceCall {
  protocol: ServingProtocol;
  /** The server's request id, unique per call: the audit record's key. */
  requestId: string;
  /** The id the client sent (x-request-id, OIP `id`), kept in the audit record; canary routing is sticky on it. */
  clientRequestId?: string | null;
  callerKeyId?: string | null;
}

export interface InferenceResult {
  /** The version that really computed the outputs. */
  model: ServedModel;
  /** In the order of `model.outputs`. */
  outputs: HostTensor[];
  /** Routed by a deployment to a route other than its first (a canary). */
  canary: boolean;
}

export function platformOf(format: ServedModel['format'], engine: ServingEngine = 'tfjs'): ModelPlatform {
  if (engine === 'onnxruntime' || format === 'onnx') return 'onnxruntime_onnx';
  return format === 'graph-model' ? 'tensorflowjs_graph' : 'tensorflowjs_layers';
}

/** Number of elements of a fully known shape. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
