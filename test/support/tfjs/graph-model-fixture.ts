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
