/**
 * Memory isolation at serving time: an imported ONNX graph passed its import dry run (two rows) but
 * allocates 1 MiB per row, so a call of 1024 rows asks ONNX Runtime for 1 GiB. The graph is served from
 * its own process capped at KILN_ONNX_SERVING_MAX_MEMORY_MB (512 here): the large call is a 400 naming
 * the input, the server's peak resident memory (this process: the test Kiln runs in it) does not grow
 * by anything like 1 GiB, other models and other callers of the same model are answered, and the
 * model answers small calls afterwards (its process is started again).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { batchGrowingGraph, torchIrisMlp } from '../support/onnx/onnx-fixtures';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { importOnnx } from '../models/onnx-import-helpers';

/** Peak resident set size of this process so far, in MiB (VmHWM). */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  assert.ok(m, 'VmHWM in /proc/self/status');
  return Number(m[1]) / 1024;
}

const PER_ROW = 1 << 16; // 2^16 float32 × 4 columns = 1 MiB per row
const HOSTILE_ROWS = 1024; // 1 GiB, twice the cap

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('serving an imported ONNX graph whose memory grows with the batch', { skip }, () => {
    let kiln: TestKiln;
    const iris = torchIrisMlp();

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_LOG_LEVEL: 'error', KILN_ONNX_SERVING_MAX_MEMORY_MB: '512' });
      for (const [name, graph] of [
        ['growing', batchGrowingGraph(PER_ROW)],
        ['iris', iris.bytes],
      ] as const) {
        const res = await importOnnx(kiln, name, graph);
        assert.equal(res.status, 201, res.text);
        assert.equal((await kiln.request('PUT', `/api/models/${name}/aliases/production`, { body: { version: 1 } })).status, 200);
      }
    });
    after(async () => {
      await kiln?.close();
    });

    const growing = (rows: number) =>
      kiln.request('POST', '/v2/models/growing/infer', {
        body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 4], data: new Array(rows * 4).fill(1) }] },
      });
    const irisInfer = () =>
      kiln.request('POST', '/v2/models/iris/infer', {
        body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: iris.expected.inputs[0] }] },
      });

    it('answers small calls (the import dry run passed)', async () => {
      const res = await growing(2);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.outputs[0].data, new Array(8).fill(PER_ROW));
    });

    it('refuses a call past the cap with a 400 naming the input; the server does not allocate it and answers others', async () => {
      const before = peakRssMb();
      const [big, small, other, ready] = await Promise.all([
        growing(HOSTILE_ROWS),
        growing(1),
        irisInfer(),
        kiln.request('GET', '/health/ready'),
      ]);
      assert.equal(big.status, 400, big.text.slice(0, 300));
      assert.match(big.body.error, /input 'x' \[1024, 4\]: the model cannot run on inputs this large.*\(512 MiB\)/);
      assert.equal(small.status, 200, `a call batched with the large one is answered: ${small.text}`);
      assert.deepEqual(small.body.outputs[0].data, new Array(4).fill(PER_ROW));
      assert.equal(other.status, 200, other.text);
      assert.equal(ready.status, 200, ready.text);
      const grown = peakRssMb() - before;
      assert.ok(grown < 256, `the server's peak RSS grew by ${grown.toFixed(0)} MiB (the call asks for 1024)`);
    });

    it('keeps serving the model after the refusal', async () => {
      const res = await growing(3);
      assert.equal(res.status, 200, res.text);
      assert.equal((await irisInfer()).status, 200);
    });
  });
}

void main();
