/**
 * A hostile TF.js model cannot grow the import thread's WebAssembly memory past KILN_IMPORT_MAX_WASM_MB:
 * a graph model of 20 bytes of weights whose dry prediction fills a 16384 × 16384 float32 tensor
 * (1 GiB, on the wasm backend's heap, which the worker's JS heap limit does not count) is refused with
 * a 400 naming `model`; the server's peak resident memory (this process: the import thread runs in
 * it) grows by less than 256 MiB and other requests are answered meanwhile.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ModelBytes } from '../../src/platform/tfjs/artifact-io';
import { hugeFillGraphModel } from '../support/tfjs/graph-model-fixture';
import { skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';
import { assertRefused, importOnnx } from './onnx-import-helpers';

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  assert.ok(m, 'VmHWM in /proc/self/status');
  return Number(m[1]) / 1024;
}

const SIGNATURE = { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4] }], outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 4] }] };

/** The graph model's weights go as `w.bin`, the shard name hugeFillGraphModel's manifest uses. */
function importGraph(kiln: TestKiln, name: string, bytes: ModelBytes): Promise<TestResponse> {
  const modelJson = Buffer.from(JSON.stringify(bytes.modelJson));
  return importOnnx(kiln, name, modelJson, { fileName: 'model.json', signature: SIGNATURE, weights: Buffer.from(bytes.weights) });
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('TF.js import: the worker thread’s wasm memory is capped', { skip }, () => {
    let kiln: TestKiln;

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_LOG_LEVEL: 'error', KILN_TF_BACKEND: 'wasm', KILN_IMPORT_MAX_WASM_MB: '128' });
    });
    after(async () => {
      await kiln?.close();
    });

    it('refuses a model allocating 1 GiB of wasm memory with 400 naming model; the server stays small and answers', async () => {
      const before = peakRssMb();
      const [res, ready] = await Promise.all([
        importGraph(kiln, 'hostile-fill', hugeFillGraphModel(16384)),
        kiln.request('GET', '/health/ready'),
      ]);
      assertRefused(res, 'model', /needs more than the 128 MiB of wasm memory an import may use \(KILN_IMPORT_MAX_WASM_MB\)/);
      assert.equal(ready.status, 200, ready.text);
      const grown = peakRssMb() - before;
      assert.ok(grown < 256, `the server's peak RSS grew by ${grown.toFixed(0)} MiB (the model asks for 1024)`);
      assert.equal((await kiln.request('GET', '/api/models/hostile-fill')).status, 404, 'nothing registered');
    });

    it('imports the same kind of model when its allocation fits under the cap, and serves it', async () => {
      const res = await importGraph(kiln, 'small-fill', hugeFillGraphModel(1024));
      assert.equal(res.status, 201, res.text);
      assert.equal((await kiln.request('PUT', '/api/models/small-fill/aliases/production', { body: { version: 1 } })).status, 200);
      const y = await kiln.request('POST', '/v2/models/small-fill/infer', {
        body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 0, 2, 0] }] },
      });
      assert.equal(y.status, 200, y.text);
      assert.deepEqual(y.body.outputs[0].data, [1024 * 1024, 0, 2 * 1024 * 1024, 0]);
    });
  });
}

void main();
