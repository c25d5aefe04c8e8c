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
  engine: 'tfjs',
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

  it('load: config overrides of the batching become serving settings; other fields and files are refused naming them', () => {
    assert.deepEqual(parseLoadRequest('m', {}), { serving: null });
    assert.deepEqual(parseLoadRequest('m', { parameters: {} }), { serving: null });
    // simple_http_model_control.py's override, and Triton's JSON form of 64-bit integers (strings).
    assert.deepEqual(parseLoadRequest('m', { parameters: { config: '{"max_batch_size":"16"}' } }), { serving: { maxBatchSize: 16 } });
    const full = {
      name: 'm',
      max_batch_size: 8,
      dynamic_batching: {
        max_queue_delay_microseconds: '2000',
        default_queue_policy: { default_timeout_microseconds: 3_000_000, max_queue_size: 50 },
      },
    };
    assert.deepEqual(parseLoadRequest('m', { parameters: { config: JSON.stringify(full) } }), {
      serving: { maxBatchSize: 8, maxQueueDelayMs: 2, timeoutMs: 3000, maxQueueSize: 50 },
    });
    const refused: Array<[unknown, RegExp]> = [
      ['"parameters": {"config": {{"max_batch_size": "16"}}}', /failed to load 'm': parameters\.config: not valid JSON/],
      [{ max_batch_size: 16 }, /parameters\.config: must be a string/],
      ['{"max_batch_size": 0}', /parameters\.config\.max_batch_size: must be between 1 and 1024/],
      ['{"max_batch_size": "x"}', /parameters\.config\.max_batch_size: must be an integer/],
      [
        '{"dynamic_batching": {"max_queue_delay_microseconds": 1500}}',
        /max_queue_delay_microseconds: must be a whole number of milliseconds/,
      ],
      ['{"input": []}', /parameters\.config\.input: cannot be overridden/],
      ['{"name": "other"}', /parameters\.config\.name: is 'other'/],
      ['{"dynamic_batching": {"preferred_batch_size": [4]}}', /dynamic_batching\.preferred_batch_size: cannot be overridden/],
    ];
    for (const [config, message] of refused) assert.throws(() => parseLoadRequest('m', { parameters: { config } }), message);
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
