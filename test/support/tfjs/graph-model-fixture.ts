/**
 * Hand-written TF.js graph models, in the GraphDef JSON that tensorflowjs_converter produces (there is
 * no Python converter here to make one), and the building blocks other fixtures (serving-fixtures.ts)
 * write theirs with. The first: y = sigmoid(x·W + b) for x of shape [-1, 3].
 */
import type { ModelBytes } from '../../../src/platform/tfjs/artifact-io';

type DType = 'DT_FLOAT' | 'DT_INT32' | 'DT_BOOL' | 'DT_STRING';

export const F32 = { type: 'DT_FLOAT' };
export const I32 = { type: 'DT_INT32' };
const STR = { type: 'DT_STRING' };

/** A GraphDef tensor shape (-1: a variable dimension). */
const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });

/** An input of element type `type` and `shape` ('unknown rank': any shape). */
export const placeholder = (name: string, type: DType, shape: number[] | 'unknown rank') => ({
  name,
  op: 'Placeholder',
  attr: { dtype: { type }, shape: { shape: shape === 'unknown rank' ? { unknownRank: true } : dims(...shape) } },
});

/** A constant whose value is the weight of the same name. */
export const constNode = (name: string, type: DType, shape: number[]) => ({
  name,
  op: 'Const',
  attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: dims(...shape) } } },
});

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/**
 * model.json of a graph of `nodes` and the weight bytes `data` that `weights` describe, in one shard
 * file `shard` (the name an import must upload it under); no weights: an empty manifest.
 */
export function graphModel(
  nodes: object[],
  weights: WeightSpec[] = [],
  data = Buffer.alloc(0),
  shard = 'group1-shard1of1.bin',
): ModelBytes {
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'kiln test fixture',
      convertedBy: null,
      modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
      weightsManifest: weights.length > 0 ? [{ paths: [shard], weights }] : [],
    },
    weights: data,
  };
}

export const GRAPH_W = [0.2, -0.4, 0.7];
export const GRAPH_B = 0.1;

export function handWrittenGraphModel(): ModelBytes {
  return graphModel(
    [
      placeholder('x', 'DT_FLOAT', [-1, 3]),
      constNode('w', 'DT_FLOAT', [3, 1]),
      constNode('b', 'DT_FLOAT', [1]),
      { name: 'mm', op: 'MatMul', input: ['x', 'w'], attr: { T: F32, transpose_a: { b: false }, transpose_b: { b: false } } },
      { name: 'logit', op: 'BiasAdd', input: ['mm', 'b'], attr: { T: F32, data_format: { s: Buffer.from('NHWC').toString('base64') } } },
      { name: 'y', op: 'Sigmoid', input: ['logit'], attr: { T: F32 } },
    ],
    [
      { name: 'w', shape: [3, 1], dtype: 'float32' },
      { name: 'b', shape: [1], dtype: 'float32' },
    ],
    Buffer.from(new Float32Array([...GRAPH_W, GRAPH_B]).buffer),
  );
}

/**
 * Triton's `simple` example model (the one tritonclient's `simple_http_*` examples call): INPUT0 and
 * INPUT1 int32 [-1, 16]; OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 − INPUT1. No weights.
 */
export function simpleAddSubGraphModel(): ModelBytes {
  return graphModel([
    placeholder('INPUT0', 'DT_INT32', [-1, 16]),
    placeholder('INPUT1', 'DT_INT32', [-1, 16]),
    { name: 'OUTPUT0', op: 'AddV2', input: ['INPUT0', 'INPUT1'], attr: { T: I32 } },
    { name: 'OUTPUT1', op: 'Sub', input: ['INPUT0', 'INPUT1'], attr: { T: I32 } },
  ]);
}

export const SIMPLE_SIGNATURE = {
  inputs: [
    { name: 'INPUT0', dtype: 'int32', shape: [-1, 16] },
    { name: 'INPUT1', dtype: 'int32', shape: [-1, 16] },
  ],
  outputs: [
    { name: 'OUTPUT0', dtype: 'int32', shape: [-1, 16] },
    { name: 'OUTPUT1', dtype: 'int32', shape: [-1, 16] },
  ],
};

/**
 * fp32_input [-1, cols] → fp32_output = fp32_input (Identity): what goes in as FP16/BF16/FP32 bytes
 * comes back as float32. `cols` -1 makes both dimensions variable.
 */
export function identityGraphModel(cols = 4): ModelBytes {
  return graphModel([
    placeholder('fp32_input', 'DT_FLOAT', [-1, cols]),
    { name: 'fp32_output', op: 'Identity', input: ['fp32_input'], attr: { T: F32 } },
  ]);
}

export function identitySignature(cols = 4) {
  return {
    inputs: [{ name: 'fp32_input', dtype: 'float32', shape: [-1, cols] }],
    outputs: [{ name: 'fp32_output', dtype: 'float32', shape: [-1, cols] }],
  };
}

export const IDENTITY_SIGNATURE = identitySignature(4);

/**
 * A text model: `text` (DT_STRING [-1]) → `text_out` = text (Identity), `text_bytes` = text (Identity;
 * TF Serving writes outputs named `*_bytes` as base64) and `bucket` = StringToHashBucketFast(text, 16)
 * (int32 in TF.js). String tensors in, strings and numbers out.
 */
export function textGraphModel(): ModelBytes {
  return graphModel([
    placeholder('text', 'DT_STRING', [-1]),
    { name: 'text_out', op: 'Identity', input: ['text'], attr: { T: STR } },
    { name: 'text_bytes', op: 'Identity', input: ['text'], attr: { T: STR } },
    { name: 'bucket', op: 'StringToHashBucketFast', input: ['text'], attr: { num_buckets: { i: '16' } } },
  ]);
}

export const TEXT_SIGNATURE = {
  inputs: [{ name: 'text', dtype: 'string', shape: [-1] }],
  outputs: [
    { name: 'text_out', dtype: 'string', shape: [-1] },
    { name: 'text_bytes', dtype: 'string', shape: [-1] },
    { name: 'bucket', dtype: 'int32', shape: [-1] },
  ],
};

/**
 * A graph model that allocates `side × side` float32s on every run (1 GiB for 16384):
 * `y = x · sum(Fill([side, side], 1))` for x [-1, 4]. Its weights are 20 bytes (the dims, the fill
 * value and the reduction axes), so only what it allocates is hostile. Its shard is `w.bin`.
 */
export function hugeFillGraphModel(side: number): ModelBytes {
  const weights = Buffer.alloc(20);
  weights.writeInt32LE(side, 0);
  weights.writeInt32LE(side, 4);
  weights.writeFloatLE(1, 8);
  weights.writeInt32LE(0, 12);
  weights.writeInt32LE(1, 16);
  return graphModel(
    [
      placeholder('x', 'DT_FLOAT', [-1, 4]),
      constNode('dims', 'DT_INT32', [2]),
      constNode('value', 'DT_FLOAT', []),
      constNode('axes', 'DT_INT32', [2]),
      { name: 'big', op: 'Fill', input: ['dims', 'value'], attr: { T: F32, index_type: I32 } },
      { name: 'total', op: 'Sum', input: ['big', 'axes'], attr: { T: F32, Tidx: I32, keep_dims: { b: false } } },
      { name: 'y', op: 'Mul', input: ['x', 'total'], attr: { T: F32 } },
    ],
    [
      { name: 'dims', shape: [2], dtype: 'int32' },
      { name: 'value', shape: [], dtype: 'float32' },
      { name: 'axes', shape: [2], dtype: 'int32' },
    ],
    weights,
    'w.bin',
  );
}
