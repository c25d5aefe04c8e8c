/**
 * Test fixture: y = sigmoid(x·W + b) for x of shape [-1, 3], written by hand in the GraphDef JSON
 * that tensorflowjs_converter produces (there is no Python converter here to make one).
 */
import type { ModelBytes } from '../../../src/platform/tfjs/artifact-io';

export const GRAPH_W = [0.2, -0.4, 0.7];
export const GRAPH_B = 0.1;

export function handWrittenGraphModel(): ModelBytes {
  const f32 = { type: 'DT_FLOAT' };
  const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'kiln test fixture',
    convertedBy: null,
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: f32, shape: { shape: dims(-1, 3) } } },
        { name: 'w', op: 'Const', attr: { dtype: f32, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 1) } } } },
        { name: 'b', op: 'Const', attr: { dtype: f32, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(1) } } } },
        { name: 'mm', op: 'MatMul', input: ['x', 'w'], attr: { T: f32, transpose_a: { b: false }, transpose_b: { b: false } } },
        { name: 'logit', op: 'BiasAdd', input: ['mm', 'b'], attr: { T: f32, data_format: { s: Buffer.from('NHWC').toString('base64') } } },
        { name: 'y', op: 'Sigmoid', input: ['logit'], attr: { T: f32 } },
      ],
      library: {},
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'w', shape: [3, 1], dtype: 'float32' as const },
          { name: 'b', shape: [1], dtype: 'float32' as const },
        ],
      },
    ],
  };
  return { modelJson, weights: Buffer.from(new Float32Array([...GRAPH_W, GRAPH_B]).buffer) };
}

/**
 * Triton's `simple` example model (the one tritonclient's `simple_http_*` examples call): INPUT0 and
 * INPUT1 int32 [-1, 16]; OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 − INPUT1. No weights.
 */
export function simpleAddSubGraphModel(): ModelBytes {
  const i32 = { type: 'DT_INT32' };
  const shape = { shape: { dim: [{ size: '-1' }, { size: '16' }] } };
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'kiln test fixture',
      convertedBy: null,
      modelTopology: {
        node: [
          { name: 'INPUT0', op: 'Placeholder', attr: { dtype: i32, shape } },
          { name: 'INPUT1', op: 'Placeholder', attr: { dtype: i32, shape } },
          { name: 'OUTPUT0', op: 'AddV2', input: ['INPUT0', 'INPUT1'], attr: { T: i32 } },
          { name: 'OUTPUT1', op: 'Sub', input: ['INPUT0', 'INPUT1'], attr: { T: i32 } },
        ],
        library: {},
        versions: { producer: 1 },
      },
      weightsManifest: [],
    },
    weights: Buffer.alloc(0),
  };
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
  const f32 = { type: 'DT_FLOAT' };
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'kiln test fixture',
      convertedBy: null,
      modelTopology: {
        node: [
          {
            name: 'fp32_input',
            op: 'Placeholder',
            attr: { dtype: f32, shape: { shape: { dim: [{ size: '-1' }, { size: String(cols) }] } } },
          },
          { name: 'fp32_output', op: 'Identity', input: ['fp32_input'], attr: { T: f32 } },
        ],
        library: {},
        versions: { producer: 1 },
      },
      weightsManifest: [],
    },
    weights: Buffer.alloc(0),
  };
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
  const str = { type: 'DT_STRING' };
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'kiln test fixture',
      convertedBy: null,
      modelTopology: {
        node: [
          { name: 'text', op: 'Placeholder', attr: { dtype: str, shape: { shape: { dim: [{ size: '-1' }] } } } },
          { name: 'text_out', op: 'Identity', input: ['text'], attr: { T: str } },
          { name: 'text_bytes', op: 'Identity', input: ['text'], attr: { T: str } },
          { name: 'bucket', op: 'StringToHashBucketFast', input: ['text'], attr: { num_buckets: { i: '16' } } },
        ],
        library: {},
        versions: { producer: 1 },
      },
      weightsManifest: [],
    },
    weights: Buffer.alloc(0),
  };
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
 * value and the reduction axes), so only what it allocates is hostile.
 */
export function hugeFillGraphModel(side: number): ModelBytes {
  const f32 = { type: 'DT_FLOAT' };
  const i32 = { type: 'DT_INT32' };
  const constant = (name: string, dtype: { type: string }, dims: number[]) => ({
    name,
    op: 'Const',
    attr: { dtype, value: { tensor: { dtype: dtype.type, tensorShape: { dim: dims.map((d) => ({ size: String(d) })) } } } },
  });
  const weights = Buffer.alloc(20);
  weights.writeInt32LE(side, 0);
  weights.writeInt32LE(side, 4);
  weights.writeFloatLE(1, 8);
  weights.writeInt32LE(0, 12);
  weights.writeInt32LE(1, 16);
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'kiln test fixture',
      convertedBy: null,
      modelTopology: {
        node: [
          { name: 'x', op: 'Placeholder', attr: { dtype: f32, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } } },
          constant('dims', i32, [2]),
          constant('value', f32, []),
          constant('axes', i32, [2]),
          { name: 'big', op: 'Fill', input: ['dims', 'value'], attr: { T: f32, index_type: i32 } },
          { name: 'total', op: 'Sum', input: ['big', 'axes'], attr: { T: f32, Tidx: i32, keep_dims: { b: false } } },
          { name: 'y', op: 'Mul', input: ['x', 'total'], attr: { T: f32 } },
        ],
        library: {},
        versions: { producer: 1 },
      },
      weightsManifest: [
        {
          paths: ['w.bin'],
          weights: [
            { name: 'dims', shape: [2], dtype: 'int32' },
            { name: 'value', shape: [], dtype: 'float32' },
            { name: 'axes', shape: [2], dtype: 'int32' },
          ],
        },
      ],
    },
    weights,
  };
}
