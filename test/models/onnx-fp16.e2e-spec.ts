/**
 * float16 tensors of an imported ONNX graph, on the machine's PostgreSQL (they were refused at import
 * before). test/support/onnx/make-fp16-fixture.py wrote the graph with Debian's python3-onnx and
 * computed its outputs with numpy. Kiln serves a float16 tensor as float32 and converts at the
 * boundary: FP32 JSON numbers and FP16 binary data (KServe's test_inference_client.py sends
 * `fp16_data` that way) are rounded to float16 before ONNX Runtime, outputs are widened exactly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Float16Array } from '@petamoriken/float16';
import { fp16Graph } from '../support/onnx/onnx-fixtures';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { importOnnx } from './onnx-import-helpers';

const MODEL = 'fp16';

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('float16 tensors of an imported ONNX graph', { skip }, () => {
    let kiln: TestKiln;
    const { bytes, expected } = fp16Graph();
    const n = expected.inputs['input-0'].length;
    const ints = { name: 'input-0', datatype: 'INT32', shape: [n, 2], data: expected.inputs['input-0'].flat() };
    const outputsOf = (res: { body: { outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }> } }) =>
      Object.fromEntries(res.body.outputs.map((o) => [o.name, { datatype: o.datatype, shape: o.shape, data: o.data.map(Math.fround) }]));
    const wanted = {
      'output-0': { datatype: 'INT32', shape: [n, 2], data: expected.outputs['output-0'].flat() },
      fp16_echo: { datatype: 'FP32', shape: [n, 2], data: expected.outputs.fp16_echo.flat() },
      fp16_out: { datatype: 'FP32', shape: [n, 2], data: expected.outputs.fp16_out.flat() },
    };

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_LOG_LEVEL: 'error' });
    });
    after(async () => {
      await kiln?.close();
    });

    it('imports the graph; its float16 tensors are float32 in the signature and the /v2 metadata', async () => {
      const res = await importOnnx(kiln, MODEL, bytes);
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.signature.inputs, [
        { name: 'input-0', dtype: 'int32', shape: [-1, 2] },
        { name: 'fp16_data', dtype: 'float32', shape: [-1, 2] },
      ]);
      assert.deepEqual(
        res.body.signature.outputs.map((o: { name: string; dtype: string }) => [o.name, o.dtype]),
        [
          ['output-0', 'int32'],
          ['fp16_echo', 'float32'],
          ['fp16_out', 'float32'],
        ],
      );
      assert.equal((await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } })).status, 200);
      const meta = await kiln.request('GET', `/v2/models/${MODEL}`);
      assert.deepEqual(
        meta.body.inputs.map((t: { datatype: string }) => t.datatype),
        ['INT32', 'FP32'],
      );
    });

    it('FP32 JSON numbers in: rounded to float16 (ties to even), computed in the graph, widened out exactly', async () => {
      const res = await kiln.request('POST', `/v2/models/${MODEL}/infer`, {
        body: { inputs: [ints, { name: 'fp16_data', datatype: 'FP32', shape: [n, 2], data: expected.inputs.fp16_data.flat() }] },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(outputsOf(res), wanted);
    });

    it("FP16 binary data in (KServe's client: set_data_from_numpy(float16, binary_data=True)), FP32 binary out", async () => {
      const half = Buffer.from(new Float16Array(expected.inputs.fp16_data.flat()).buffer);
      const head = Buffer.from(
        JSON.stringify({
          id: 'fp16',
          inputs: [ints, { name: 'fp16_data', datatype: 'FP16', shape: [n, 2], parameters: { binary_data_size: half.length } }],
          outputs: [{ name: 'fp16_out', parameters: { binary_data: true } }],
        }),
      );
      const res = await fetch(`${kiln.url}/v2/models/${MODEL}/infer`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${kiln.adminKey}`,
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(head.length),
        },
        body: Buffer.concat([head, half]),
      });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, body.toString('latin1'));
      const headerLength = Number(res.headers.get('inference-header-content-length'));
      const json = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
      assert.deepEqual(json.outputs, [{ name: 'fp16_out', datatype: 'FP32', shape: [n, 2], parameters: { binary_data_size: n * 2 * 4 } }]);
      const tail = body.subarray(headerLength);
      assert.deepEqual(
        Array.from(new Float32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + tail.length))),
        wanted.fp16_out.data,
      );
    });

    it('v1 predict: the same conversion through TF Serving REST', async () => {
      const res = await kiln.request('POST', `/v1/models/${MODEL}:predict`, {
        body: { inputs: { 'input-0': expected.inputs['input-0'], fp16_data: expected.inputs.fp16_data } },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.outputs.fp16_echo.flat().map(Math.fround), expected.outputs.fp16_echo.flat());
    });
  });
}

void main();
