import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BATCHING } from '../runtime/dynamic-batcher';
import type { ServedModel } from '../runtime/served-model';
import { modelConfig, parseLoadRequest, parseRepositoryIndexRequest, parseUnloadRequest } from './oip-extensions';

const served = (shape: number[]): ServedModel => ({
  name: 'm',
  version: 4,
  versionId: 'id',
  source: 'imported',
  format: 'graph-model',
  platform: 'tensorflowjs_graph',
  task: null,
  inputs: [{ name: 'x', dtype: 'int32', shape }],
  outputs: [{ name: 'y', dtype: 'bool', shape }],
  features: null,
  preprocessing: null,
  target: null,
});

describe('OIP extension codecs', () => {
  it('repository index request: absent or empty body = not ready-only; ready must be a boolean (Triton message)', () => {
    assert.deepEqual(parseRepositoryIndexRequest(undefined), { ready: false });
    assert.deepEqual(parseRepositoryIndexRequest(''), { ready: false });
    assert.deepEqual(parseRepositoryIndexRequest({ ready: true }), { ready: true });
    assert.throws(() => parseRepositoryIndexRequest({ ready: 1 }), /^BadRequestException: Invalid value for 'ready': expected a boolean$/);
    assert.throws(() => parseRepositoryIndexRequest([true]), /body: must be a JSON object/);
  });

  it('load refuses config and file overrides naming the parameter; unload checks unload_dependents', () => {
    assert.doesNotThrow(() => parseLoadRequest('m', {}));
    assert.doesNotThrow(() => parseLoadRequest('m', { parameters: {} }));
    assert.throws(() => parseLoadRequest('m', { parameters: { config: '{}' } }), /failed to load 'm': parameters\.config/);
    assert.throws(() => parseLoadRequest('m', { parameters: { 'file:1/model.onnx': 'YQ==' } }), /parameters\.file:1\/model\.onnx/);
    assert.doesNotThrow(() => parseUnloadRequest({ parameters: { unload_dependents: true } }));
    assert.throws(() => parseUnloadRequest({ parameters: { unload_dependents: 'yes' } }), /Unable to parse 'unload_dependents'/);
  });

  it('model config: a batching signature drops the batch dimension; a fixed one is max_batch_size 0 with full dims', () => {
    const batched = modelConfig(served([-1, 5]), { ...DEFAULT_BATCHING, maxBatchSize: 16 }, false);
    assert.equal(batched.max_batch_size, 16);
    assert.deepEqual(batched.input, [{ name: 'x', data_type: 'TYPE_INT32', format: 'FORMAT_NONE', dims: [5] }]);
    assert.deepEqual(batched.output, [{ name: 'y', data_type: 'TYPE_BOOL', dims: [5], label_filename: '' }]);
    assert.deepEqual(batched.model_warmup[0]!.inputs, { x: { data_type: 'TYPE_INT32', dims: [5], zero_data: true } });
    const fixed = modelConfig(served([2, 5]), DEFAULT_BATCHING, true);
    assert.equal(fixed.max_batch_size, 0);
    assert.equal(fixed.dynamic_batching, undefined);
    assert.deepEqual(fixed.input[0]!.dims, [2, 5]);
    assert.equal(fixed.instance_group[0]!.kind, 'KIND_GPU');
  });
});
