/**
 * Triton's OIP extensions on /v2 end to end on PostgreSQL: model repository (index, load, unload on
 * the registry and the model cache), statistics (Triton's `$model_stat` from the runtime's counters)
 * and model configuration (Triton's ModelConfig JSON with `max_batch_size` from the serving settings).
 * Expected answers are written down from Triton's protocol documents
 * (docs/protocol/extension_model_repository.md, extension_statistics.md,
 * extension_model_configuration.md) and from `qa/L0_http/http_test.py` (its repository-index case).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { eventually, skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';
import { servingReady } from './triton-test-client';
import { importLayersModel } from '../models/model-import-helpers';
import { importOnnx } from '../models/onnx-import-helpers';
import { oneNodeGraph } from '../support/onnx/onnx-fixtures';

const ROUTED = 'ext-routed';
const LOOSE = 'ext-loose';
const SIGNATURE = {
  inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 2] }],
};

function denseModel(seed: number): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(
    tfl.layers.dense({ units: 2, activation: 'softmax', inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
  );
  return m;
}

function assertError(res: TestResponse, status: number, pattern?: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(Object.keys(res.body), ['error'], res.text);
  if (pattern) assert.match(res.body.error, pattern);
}

const input = (rows: number) => ({
  inputs: [{ name: 'features', shape: [rows, 3], datatype: 'FP32', data: Array.from({ length: rows * 3 }, (_, i) => i / 10) }],
});

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('OIP extensions (repository, statistics, configuration) on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let predictorKey: string;

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres', { KILN_ROUTING_REFRESH_MS: '200' });
      await importLayersModel(kiln, ROUTED, denseModel(1), SIGNATURE);
      const alias = await kiln.request('PUT', `/api/models/${ROUTED}/aliases/production`, { body: { version: 1 } });
      assert.equal(alias.status, 200, alias.text);
      await importLayersModel(kiln, LOOSE, denseModel(2), SIGNATURE);
      await importLayersModel(kiln, LOOSE, denseModel(3), SIGNATURE);
      predictorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'predictor', role: 'predictor' } })).body.key;
      await servingReady(kiln);
    });
    after(async () => {
      await kiln?.close();
    });

    it('GET /v2 lists model_repository, model_configuration and statistics', async () => {
      const res = await kiln.request('GET', '/v2', { key: null });
      assert.equal(res.status, 200, res.text);
      for (const ext of ['model_repository', 'model_configuration', 'statistics']) assert.ok(res.body.extensions.includes(ext), res.text);
    });

    describe('model configuration', () => {
      it("Triton's ModelConfig: dims without the batch dimension; max_batch_size, dynamic_batching from the serving settings", async () => {
        const res = await kiln.request('GET', `/v2/models/${ROUTED}/config`, { key: predictorKey });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.name, ROUTED);
        assert.equal(res.body.platform, 'tensorflowjs_layers');
        assert.equal(res.body.backend, 'tensorflowjs');
        assert.equal(res.body.max_batch_size, 32);
        assert.deepEqual(res.body.version_policy, { specific: { versions: [1] } });
        assert.deepEqual(res.body.input, [{ name: 'features', data_type: 'TYPE_FP32', format: 'FORMAT_NONE', dims: [3] }]);
        assert.deepEqual(res.body.output, [{ name: 'probabilities', data_type: 'TYPE_FP32', dims: [2], label_filename: '' }]);
        assert.deepEqual(res.body.dynamic_batching, {
          preferred_batch_size: [],
          max_queue_delay_microseconds: 0,
          preserve_ordering: true,
          default_queue_policy: {
            timeout_action: 'REJECT',
            default_timeout_microseconds: 5_000_000,
            allow_timeout_override: false,
            max_queue_size: 1024,
          },
        });
        assert.deepEqual(res.body.instance_group, [{ name: ROUTED, kind: 'KIND_CPU', count: 1 }]);

        const set = await kiln.request('PUT', `/api/models/${ROUTED}/serving`, { body: { maxBatchSize: 8, maxQueueDelayMs: 3 } });
        assert.equal(set.status, 200, set.text);
        const updated = await eventually(async () => {
          const r = await kiln.request('GET', `/v2/models/${ROUTED}/versions/1/config`, { key: predictorKey });
          return r.body.max_batch_size === 8 ? r : undefined;
        });
        assert.equal(updated.body.dynamic_batching.max_queue_delay_microseconds, 3000);
      });

      it("an ONNX graph's configuration names Triton's onnxruntime backend beside its onnxruntime_onnx platform", async () => {
        // Triton's ModelConfig for the same graph (simple_http_model_control.py's `simple`): "platform":
        // "onnxruntime_onnx", "backend": "onnxruntime"
        const imported = await importOnnx(kiln, 'ext-onnx', oneNodeGraph({ inShape: ['n', 2], outShape: ['n', 2] }));
        assert.equal(imported.status, 201, imported.text);
        const res = await kiln.request('GET', '/v2/models/ext-onnx/versions/1/config', { key: predictorKey });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.platform, 'onnxruntime_onnx');
        assert.equal(res.body.backend, 'onnxruntime');
      });

      it('404 for an unknown model or version, 405 for another method', async () => {
        assertError(await kiln.request('GET', '/v2/models/no-such-model/config'), 404);
        assertError(await kiln.request('GET', `/v2/models/${ROUTED}/versions/7/config`), 404);
        const post = await kiln.request('POST', `/v2/models/${ROUTED}/config`, { body: {} });
        assertError(post, 405);
        assert.match(post.headers.get('allow') ?? '', /GET/);
      });
    });

    describe('statistics', () => {
      it("counts inferences, executions, successes, failures and queue/compute time in Triton's shape", async () => {
        const path = `/v2/models/${ROUTED}/versions/1/stats`;
        const before = await kiln.request('GET', path, { key: predictorKey });
        assert.equal(before.status, 200, before.text);
        assert.equal(before.body.model_stats.length, 1);
        const s0 = before.body.model_stats[0];
        assert.deepEqual(
          Object.keys(s0).sort(),
          [
            'batch_stats',
            'execution_count',
            'inference_count',
            'inference_stats',
            'last_inference',
            'memory_usage',
            'name',
            'response_stats',
            'version',
          ].sort(),
        );
        assert.deepEqual([s0.name, s0.version], [ROUTED, '1']);
        assert.deepEqual(
          Object.keys(s0.inference_stats).sort(),
          ['cache_hit', 'cache_miss', 'compute_infer', 'compute_input', 'compute_output', 'fail', 'queue', 'success'].sort(),
        );

        // Sequential calls: each is its own batch. 2 rows + 3 rows over /v2, 1 record-free /v1 call of 1 row.
        for (const rows of [2, 3]) {
          const r = await kiln.request('POST', `/v2/models/${ROUTED}/infer`, { key: predictorKey, body: input(rows) });
          assert.equal(r.status, 200, r.text);
        }
        const v1 = await kiln.request('POST', `/v1/models/${ROUTED}:predict`, { key: predictorKey, body: { instances: [[1, 2, 3]] } });
        assert.equal(v1.status, 200, v1.text);
        // Reaches version 1 and fails its signature check: one failure.
        const bad = await kiln.request('POST', `/v2/models/${ROUTED}/infer`, {
          key: predictorKey,
          body: { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
        });
        assertError(bad, 400);

        const after = await kiln.request('GET', path, { key: predictorKey });
        const s = after.body.model_stats[0];
        const d = (k: string) => s.inference_stats[k].count - s0.inference_stats[k].count;
        assert.equal(s.inference_count - s0.inference_count, 6);
        assert.equal(s.execution_count - s0.execution_count, 3);
        assert.equal(d('success'), 3);
        assert.equal(d('fail'), 1);
        assert.equal(d('queue'), 3);
        assert.equal(d('compute_input'), 3);
        assert.equal(d('compute_infer'), 3);
        assert.equal(d('compute_output'), 3);
        assert.equal(s.inference_stats.cache_hit.count, 0);
        assert.ok(s.inference_stats.success.ns > s0.inference_stats.success.ns);
        assert.ok(s.inference_stats.compute_infer.ns > s0.inference_stats.compute_infer.ns);
        assert.ok(s.last_inference >= Date.now() - 60_000 && s.last_inference <= Date.now(), String(s.last_inference));
        const sizes = Object.fromEntries(s.batch_stats.map((b: any) => [b.batch_size, b.compute_infer.count]));
        for (const size of [1, 2, 3]) assert.ok(sizes[size] >= 1, `batch size ${size}: ${JSON.stringify(s.batch_stats)}`);

        const model = await kiln.request('GET', `/v2/models/${ROUTED}/stats`, { key: predictorKey });
        assert.deepEqual(
          model.body.model_stats.map((m: any) => [m.name, m.version]),
          [[ROUTED, '1']],
        );
        const all = await kiln.request('GET', '/v2/models/stats', { key: predictorKey });
        assert.equal(all.status, 200, all.text);
        assert.ok(all.body.model_stats.some((m: any) => m.name === ROUTED && m.inference_count === s.inference_count));
      });

      it('404 for an unknown model or version; 405 for another method', async () => {
        assertError(await kiln.request('GET', '/v2/models/no-such-model/stats'), 404);
        assertError(await kiln.request('GET', `/v2/models/${ROUTED}/versions/9/stats`), 404);
        assertError(await kiln.request('GET', `/v2/models/${ROUTED}/versions/x/stats`), 404);
        const post = await kiln.request('POST', '/v2/models/stats', { body: {} });
        assertError(post, 405);
      });
    });

    describe('model repository', () => {
      it('index lists every active version with its state; ready:true only the loaded ones', async () => {
        const res = await kiln.request('POST', '/v2/repository/index', { key: predictorKey, body: {} });
        assert.equal(res.status, 200, res.text);
        const mine = res.body.filter((e: any) => e.name === ROUTED || e.name === LOOSE);
        assert.deepEqual(mine, [
          { name: LOOSE, version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
          { name: LOOSE, version: '2', state: 'UNAVAILABLE', reason: 'unloaded' },
          { name: ROUTED, version: '1', state: 'READY', reason: '' },
        ]);
        const ready = await kiln.request('POST', '/v2/repository/index', { key: predictorKey, body: { ready: true } });
        assert.deepEqual(
          ready.body.filter((e: any) => e.name === ROUTED || e.name === LOOSE),
          [{ name: ROUTED, version: '1', state: 'READY', reason: '' }],
        );
        // tritonclient sends the index request with an empty body and no Content-Type.
        const empty = await fetch(`${kiln.url}/v2/repository/index`, {
          method: 'POST',
          headers: { authorization: `Bearer ${predictorKey}` },
        });
        assert.equal(empty.status, 200, await empty.clone().text());
        assert.ok(Array.isArray(await empty.json()));
        // tritonclient's aio client (aiohttp) sends it as an empty application/octet-stream body.
        for (const type of ['application/octet-stream', 'application/json']) {
          const typed = await fetch(`${kiln.url}/v2/repository/index`, {
            method: 'POST',
            headers: { authorization: `Bearer ${predictorKey}`, 'content-type': type, 'content-length': '0' },
          });
          assert.equal(typed.status, 200, `${type}: ${await typed.clone().text()}`);
          assert.ok(Array.isArray(await typed.json()), type);
        }
      });

      it("index refuses a non-boolean 'ready' with Triton's message (qa/L0_http test_repository_index_deeply_nested_json)", async () => {
        assertError(
          await kiln.request('POST', '/v2/repository/index', { body: { ready: 'yes' } }),
          400,
          /Invalid value for 'ready': expected a boolean/,
        );
        assertError(
          await kiln.request('POST', '/v2/repository/index', { body: '{"ready": [[[true]]]}' }),
          400,
          /Invalid value for 'ready'/,
        );
        assertError(await kiln.request('POST', '/v2/repository/index', { body: [] }), 400, /^body: must be a JSON object/);
        const get = await kiln.request('GET', '/v2/repository/index');
        assertError(get, 405);
        assert.equal(get.headers.get('allow'), 'POST');
      });

      it('load makes a model without alias servable by name (its newest version); unload takes it away again', async () => {
        assert.notEqual((await kiln.request('GET', `/v2/models/${LOOSE}/ready`, { key: predictorKey })).status, 200);
        assertError(await kiln.request('POST', `/v2/models/${LOOSE}/infer`, { key: predictorKey, body: input(1) }), 404, /not loaded/);

        const load = await kiln.request('POST', `/v2/repository/models/${LOOSE}/load`, { body: {} });
        assert.equal(load.status, 200, load.text);
        const ready = await kiln.request('GET', `/v2/models/${LOOSE}/ready`, { key: predictorKey });
        assert.deepEqual([ready.status, ready.body], [200, { name: LOOSE, ready: true }]);
        const infer = await kiln.request('POST', `/v2/models/${LOOSE}/infer`, { key: predictorKey, body: input(1) });
        assert.equal(infer.status, 200, infer.text);
        assert.equal(infer.body.model_version, '2');
        const index = await kiln.request('POST', '/v2/repository/index', { body: { ready: true } });
        assert.deepEqual(
          index.body.filter((e: any) => e.name === LOOSE),
          [{ name: LOOSE, version: '2', state: 'READY', reason: '' }],
        );

        const unload = await kiln.request('POST', `/v2/repository/models/${LOOSE}/unload`, {
          body: { parameters: { unload_dependents: false } },
        });
        assert.equal(unload.status, 200, unload.text);
        assert.notEqual((await kiln.request('GET', `/v2/models/${LOOSE}/ready`, { key: predictorKey })).status, 200);
        const after = await kiln.request('POST', '/v2/repository/index', { body: {} });
        assert.deepEqual(
          after.body.filter((e: any) => e.name === LOOSE).map((e: any) => e.state),
          ['UNAVAILABLE', 'UNAVAILABLE'],
        );
      });

      it("load with Triton's config override of max_batch_size (simple_http_model_control.py) sets the serving settings", async () => {
        const load = await kiln.request('POST', `/v2/repository/models/${LOOSE}/load`, {
          body: { parameters: { config: '{"max_batch_size":"16"}' } },
        });
        assert.equal(load.status, 200, load.text);
        // In force when the load answers: no wait for the routing poll.
        const config = await kiln.request('GET', `/v2/models/${LOOSE}/config`, { key: predictorKey });
        assert.equal(config.status, 200, config.text);
        assert.equal(config.body.max_batch_size, 16);
        const serving = await kiln.request('GET', `/api/models/${LOOSE}/serving`);
        assert.equal(serving.body.maxBatchSize, 16, serving.text);
        assert.equal((await kiln.request('POST', `/v2/repository/models/${LOOSE}/unload`)).status, 200);
      });

      it('load of a routed model succeeds (already loaded); its unload is refused with 409', async () => {
        assert.equal((await kiln.request('POST', `/v2/repository/models/${ROUTED}/load`)).status, 200);
        assertError(await kiln.request('POST', `/v2/repository/models/${ROUTED}/unload`), 409, /failed to unload .*routed by its aliases/);
        assert.equal((await kiln.request('GET', `/v2/models/${ROUTED}/ready`, { key: predictorKey })).status, 200);
      });

      it('errors: unknown model, config overrides, predictor role, wrong method', async () => {
        // simple_http_model_control.py looks for "failed to load" in the message.
        assertError(
          await kiln.request('POST', '/v2/repository/models/wrong_model_name/load', { body: {} }),
          404,
          /^failed to load 'wrong_model_name'/,
        );
        assertError(await kiln.request('POST', '/v2/repository/models/wrong_model_name/unload', { body: {} }), 404, /failed to unload/);
        // simple_http_model_control.py's malformed override must fail with "failed to load".
        assertError(
          await kiln.request('POST', `/v2/repository/models/${LOOSE}/load`, {
            body: { parameters: { config: '"parameters": {"config": {{"max_batch_size": "16"}}}' } },
          }),
          400,
          /^failed to load 'ext-loose': parameters\.config: not valid JSON/,
        );
        assertError(
          await kiln.request('POST', `/v2/repository/models/${LOOSE}/load`, { body: { parameters: { config: '{"input": []}' } } }),
          400,
          /^failed to load .*parameters\.config\.input: cannot be overridden/,
        );
        assertError(
          await kiln.request('POST', '/v2/repository/models/wrong_model_name/load', {
            body: { parameters: { config: '{"max_batch_size": 4}' } },
          }),
          404,
          /^failed to load 'wrong_model_name'/,
        );
        assertError(
          await kiln.request('POST', `/v2/repository/models/${LOOSE}/unload`, { body: { parameters: { unload_dependents: 'no' } } }),
          400,
          /Unable to parse 'unload_dependents'/,
        );
        assertError(await kiln.request('POST', `/v2/repository/models/${LOOSE}/load`, { key: predictorKey, body: {} }), 403);
        assertError(await kiln.request('GET', `/v2/repository/models/${LOOSE}/load`), 405);
      });
    });
  });
}

void main();
