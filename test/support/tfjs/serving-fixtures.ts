/**
 * Hand-written TF.js graph models (the GraphDef JSON tensorflowjs_converter writes) standing in for
 * the peers' test models:
 *
 *  - `halfPlusTwo`: TF Serving's half_plus_two (saved_model_half_plus_two.py): y = 0.5·x + 2,
 *    y2 = 0.5·x + 3, y3 = 0.5·x2 + 3, with x and x2 of unknown rank (elementwise, so `[1.0, 2.0]`
 *    and `[[1.0, 2.0], [3.0, 4.0]]` both work, as on TF Serving), and its signatures:
 *    `serving_default` (x → y), `regress_x_to_y`, `regress_x_to_y2`, `regress_x2_to_y3`,
 *    `classify_x_to_y`, `classify_x2_to_y3`. TF Serving's classify/regress signatures read
 *    serialized tf.Examples; here each takes the example feature it parses (x or x2) directly;
 *  - `kserveExample`: the model of KServe's required_api.md request example: input0 UINT32 [2, 2],
 *    input1 BOOL [3] (no batch dimension, different first dimensions), output0 FP32 [3, 2] =
 *    float(input1) as a column + the column sums of input0.
 */
import type { ModelBytes } from '../../../src/platform/tfjs/artifact-io';
import { constNode, F32, graphModel, I32, placeholder } from './graph-model-fixture';

const f32 = (name: string, tensor?: string) => ({ name, dtype: 'float32', shape: [-1], ...(tensor ? { tensor } : {}) });

export const HALF_PLUS_TWO_SIGNATURE = {
  inputs: [f32('x')],
  outputs: [f32('y')],
  signatures: {
    regress_x_to_y: { method: 'regress', inputs: [f32('x')], outputs: [f32('outputs', 'y')] },
    regress_x_to_y2: { method: 'regress', inputs: [f32('x')], outputs: [f32('outputs', 'y2')] },
    regress_x2_to_y3: { method: 'regress', inputs: [f32('x2')], outputs: [f32('outputs', 'y3')] },
    classify_x_to_y: { method: 'classify', inputs: [f32('x')], outputs: [f32('scores', 'y')] },
    classify_x2_to_y3: { method: 'classify', inputs: [f32('x2')], outputs: [f32('scores', 'y3')] },
  },
};

/**
 * api_rest.md's half_plus_three (y = 0.5·x + 3) from the same graph: its default signature x → y2,
 * and its regress signature, which the document calls "tensorflow/serving/regress".
 */
export const HALF_PLUS_THREE_SIGNATURE = {
  inputs: [f32('x')],
  outputs: [f32('y2')],
  signatures: {
    'tensorflow/serving/regress': { method: 'regress', inputs: [f32('x')], outputs: [f32('outputs', 'y2')] },
    regress_x2_to_y3: { method: 'regress', inputs: [f32('x2')], outputs: [f32('outputs', 'y3')] },
  },
};

export function halfPlusTwo(): ModelBytes {
  return graphModel(
    [
      placeholder('x', 'DT_FLOAT', 'unknown rank'),
      placeholder('x2', 'DT_FLOAT', 'unknown rank'),
      constNode('a', 'DT_FLOAT', []),
      constNode('b', 'DT_FLOAT', []),
      constNode('c', 'DT_FLOAT', []),
      { name: 'ax', op: 'Mul', input: ['a', 'x'], attr: { T: F32 } },
      { name: 'ax2', op: 'Mul', input: ['a', 'x2'], attr: { T: F32 } },
      { name: 'y', op: 'AddV2', input: ['ax', 'b'], attr: { T: F32 } },
      { name: 'y2', op: 'AddV2', input: ['ax', 'c'], attr: { T: F32 } },
      { name: 'y3', op: 'AddV2', input: ['ax2', 'c'], attr: { T: F32 } },
    ],
    [
      { name: 'a', shape: [], dtype: 'float32' },
      { name: 'b', shape: [], dtype: 'float32' },
      { name: 'c', shape: [], dtype: 'float32' },
    ],
    Buffer.from(new Float32Array([0.5, 2, 3]).buffer),
  );
}

export const KSERVE_EXAMPLE_SIGNATURE = {
  inputs: [
    { name: 'input0', dtype: 'int32', shape: [2, 2] },
    { name: 'input1', dtype: 'bool', shape: [3] },
  ],
  outputs: [{ name: 'output0', dtype: 'float32', shape: [3, 2] }],
};

export function kserveExample(): ModelBytes {
  return graphModel(
    [
      placeholder('input0', 'DT_INT32', [2, 2]),
      placeholder('input1', 'DT_BOOL', [3]),
      constNode('axis', 'DT_INT32', [1]),
      constNode('column', 'DT_INT32', [2]),
      { name: 'f0', op: 'Cast', input: ['input0'], attr: { SrcT: I32, DstT: F32 } },
      { name: 'sums', op: 'Sum', input: ['f0', 'axis'], attr: { T: F32, Tidx: I32, keep_dims: { b: true } } },
      { name: 'f1', op: 'Cast', input: ['input1'], attr: { SrcT: { type: 'DT_BOOL' }, DstT: F32 } },
      { name: 'col', op: 'Reshape', input: ['f1', 'column'], attr: { T: F32, Tshape: I32 } },
      { name: 'output0', op: 'AddV2', input: ['col', 'sums'], attr: { T: F32 } },
    ],
    [
      { name: 'axis', shape: [1], dtype: 'int32' },
      { name: 'column', shape: [2], dtype: 'int32' },
    ],
    Buffer.from(new Int32Array([0, 3, 1]).buffer),
  );
}

/** The multipart body of `POST /api/models/{name}/versions` importing a graph model with its signature. */
export function graphImportForm(bytes: ModelBytes, signature: object): FormData {
  const form = new FormData();
  form.append('signature', JSON.stringify(signature));
  form.append('model', new Blob([JSON.stringify(bytes.modelJson)]), 'model.json');
  form.append('weights', new Blob([bytes.weights]), 'group1-shard1of1.bin');
  return form;
}
