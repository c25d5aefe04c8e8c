import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostTensor, ServedModel, TensorSpec } from './served-model';
import { validateInputs } from './validate-inputs';

function model(inputs: TensorSpec[]): ServedModel {
  return {
    name: 'm',
    version: 1,
    versionId: 'v',
    source: 'imported',
    format: 'graph-model',
    platform: 'tensorflowjs_graph',
    task: null,
    inputs,
    outputs: [{ name: 'y', dtype: 'float32', shape: [-1] }],
    features: null,
    preprocessing: null,
    target: null,
  };
}

const f32 = (name: string, shape: number[]): HostTensor => ({
  name,
  dtype: 'float32',
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

describe('validateInputs: shapes', () => {
  it('takes inputs of different first dimensions when the signature fixes them (KServe required_api example: [2, 2] and [3])', () => {
    const m = model([
      { name: 'input0', dtype: 'float32', shape: [2, 2] },
      { name: 'input1', dtype: 'float32', shape: [3] },
    ]);
    const v = validateInputs(m, [f32('input0', [2, 2]), f32('input1', [3])]);
    assert.deepEqual(
      v.inputs.map((t) => t.shape),
      [[2, 2], [3]],
    );
    assert.equal(v.batchable, false, 'no batch dimension: the request runs alone');
    assert.throws(() => validateInputs(m, [f32('input0', [2, 2]), f32('input1', [2])]), /input 'input1': dimension 0 is 2/);
  });

  it('batch inputs (declared -1 first) still share one batch size', () => {
    const m = model([
      { name: 'a', dtype: 'float32', shape: [-1, 2] },
      { name: 'b', dtype: 'float32', shape: [-1] },
      { name: 'c', dtype: 'float32', shape: [4] },
    ]);
    const v = validateInputs(m, [f32('a', [3, 2]), f32('b', [3]), f32('c', [4])]);
    assert.deepEqual([v.rows, v.batchable], [3, true]);
    assert.throws(() => validateInputs(m, [f32('a', [3, 2]), f32('b', [2]), f32('c', [4])]), /input 'b' has 2 rows; other inputs have 3/);
  });

  it('an input declared [-1] takes any rank (TF Serving feeds half_plus_two [[1.0, 2.0], [3.0, 4.0]]); other ranks are checked', () => {
    const v = validateInputs(model([{ name: 'x', dtype: 'float32', shape: [-1] }]), [f32('x', [2, 2])]);
    assert.deepEqual([v.rows, v.inputs[0]!.shape], [2, [2, 2]]);
    assert.throws(() => validateInputs(model([{ name: 'x', dtype: 'float32', shape: [-1, 1] }]), [f32('x', [2])]), /has rank 1/);
    assert.throws(() => validateInputs(model([{ name: 'x', dtype: 'float32', shape: [-1] }]), [f32('x', [])]), /has rank 0/);
  });
});
