/**
 * int64, float64, int32 and bool tensors of an imported ONNX graph, on the machine's PostgreSQL:
 * test/support/onnx/make-dtype-fixture.py wrote the graph with onnx's helper API (skl2onnx is not in
 * Debian) and computed its outputs with numpy. Values float32 / int32 cannot carry (integers past
 * 2^32, doubles with 17 significant digits) come back exactly on /v2 JSON, /v2 binary outputs and
 * /v1; values a 64-bit integer input cannot take exactly (past ±2^53, fractions) are 400s naming
 * the element.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { OpenInferenceGrpcServer } from '../../src/inference/grpc/open-inference.grpc-server';
import { loadOipGrpcPackage } from '../../src/inference/grpc/grpc-predict-v2';
import { dtypesGraph, type DtypesExpected } from '../support/onnx/onnx-fixtures';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { importOnnx } from './onnx-import-helpers';

const MODEL = 'dtypes';

function v2Inputs(x: DtypesExpected['inputs']): Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> {
  const n = x.counts.length;
  return [
    { name: 'counts', datatype: 'INT64', shape: [n, 3], data: x.counts.flat() },
    { name: 'amounts', datatype: 'FP64', shape: [n, 2], data: x.amounts.flat() },
    { name: 'ids', datatype: 'INT32', shape: [n, 1], data: x.ids.flat() },
    { name: 'flags', datatype: 'BOOL', shape: [n, 1], data: x.flags.flat() },
  ];
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('int64 / float64 / int32 / bool tensors of an imported ONNX graph', { skip }, () => {
    let kiln: TestKiln;
    const { bytes, expected } = dtypesGraph();

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_LOG_LEVEL: 'error', KILN_GRPC_PORT: '0' });
    });
    after(async () => {
      await kiln?.close();
    });

    it('imports the graph with its element types read from it; /v2 metadata names them', async () => {
      const res = await importOnnx(kiln, MODEL, bytes);
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.signature.inputs, [
        { name: 'counts', dtype: 'int64', shape: [-1, 3] },
        { name: 'amounts', dtype: 'float64', shape: [-1, 2] },
        { name: 'ids', dtype: 'int32', shape: [-1, 1] },
        { name: 'flags', dtype: 'bool', shape: [-1, 1] },
      ]);
      assert.deepEqual(
        res.body.signature.outputs.map((o: { dtype: string }) => o.dtype),
        ['int64', 'float64', 'int32', 'bool'],
      );
      assert.equal((await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } })).status, 200);
      const meta = await kiln.request('GET', `/v2/models/${MODEL}`);
      assert.equal(meta.status, 200, meta.text);
      assert.deepEqual(
        meta.body.inputs.map((t: { datatype: string }) => t.datatype),
        ['INT64', 'FP64', 'INT32', 'BOOL'],
      );
      assert.deepEqual(
        meta.body.outputs.map((t: { datatype: string }) => t.datatype),
        ['INT64', 'FP64', 'INT32', 'BOOL'],
      );
    });

    it('answers /v2 infer (JSON) with exactly the numbers numpy computed', async () => {
      const res = await kiln.request('POST', `/v2/models/${MODEL}/infer`, { body: { inputs: v2Inputs(expected.inputs) } });
      assert.equal(res.status, 200, res.text);
      const out = Object.fromEntries(res.body.outputs.map((o: any) => [o.name, o]));
      const n = expected.inputs.counts.length;
      assert.deepEqual(out.weighted, { name: 'weighted', datatype: 'INT64', shape: [n, 1], data: expected.outputs.weighted.flat() });
      assert.deepEqual(out.scaled, { name: 'scaled', datatype: 'FP64', shape: [n, 2], data: expected.outputs.scaled.flat() });
      assert.deepEqual(out.next_id, { name: 'next_id', datatype: 'INT32', shape: [n, 1], data: expected.outputs.next_id.flat() });
      assert.deepEqual(out.big, { name: 'big', datatype: 'BOOL', shape: [n, 1], data: expected.outputs.big.flat() });
    });

    it('answers /v2 binary outputs as little-endian int64 and float64 bytes', async () => {
      const res = await fetch(`${kiln.url}/v2/models/${MODEL}/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kiln.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: v2Inputs(expected.inputs), parameters: { binary_data_output: true } }),
      });
      assert.equal(res.status, 200);
      const all = Buffer.from(await res.arrayBuffer());
      const length = Number(res.headers.get('inference-header-content-length'));
      const header = JSON.parse(all.subarray(0, length).toString('utf8'));
      let at = length;
      const parts: Record<string, Buffer> = {};
      for (const o of header.outputs) {
        parts[o.name] = all.subarray(at, at + o.parameters.binary_data_size);
        at += o.parameters.binary_data_size;
      }
      assert.equal(at, all.length);
      const ints = (b: Buffer) => Array.from({ length: b.length / 8 }, (_, i) => Number(b.readBigInt64LE(i * 8)));
      const doubles = (b: Buffer) => Array.from({ length: b.length / 8 }, (_, i) => b.readDoubleLE(i * 8));
      assert.deepEqual(ints(parts.weighted!), expected.outputs.weighted.flat());
      assert.deepEqual(doubles(parts.scaled!), expected.outputs.scaled.flat());
      assert.deepEqual(Array.from(new Int32Array(new Uint8Array(parts.next_id!).buffer)), expected.outputs.next_id.flat());
      assert.deepEqual(
        Array.from(parts.big!, (v) => v !== 0),
        expected.outputs.big.flat(),
      );
    });

    it('answers /v1 predict (columnar inputs) with the same numbers', async () => {
      const res = await kiln.request('POST', `/v1/models/${MODEL}:predict`, { body: { inputs: expected.inputs } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.outputs.weighted, expected.outputs.weighted);
      assert.deepEqual(res.body.outputs.scaled, expected.outputs.scaled);
      assert.deepEqual(res.body.outputs.next_id, expected.outputs.next_id);
      assert.deepEqual(res.body.outputs.big, expected.outputs.big);
    });

    it('answers gRPC ModelInfer with int64_contents / fp64_contents and as raw little-endian bytes', async () => {
      const port = kiln.app.get(OpenInferenceGrpcServer).port;
      assert.ok(port, 'the gRPC listener is up');
      const Service = loadOipGrpcPackage().GRPCInferenceService;
      const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client &
        Record<string, (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: any) => void) => void>;
      const infer = (request: unknown): Promise<any> =>
        new Promise((resolve, reject) => {
          const md = new grpc.Metadata();
          md.set('authorization', `Bearer ${kiln.adminKey}`);
          client.ModelInfer!.call(client, request, md, (err, res) => (err ? reject(err) : resolve(res)));
        });
      try {
        const x = expected.inputs;
        const n = x.counts.length;
        const inputs = [
          { name: 'counts', datatype: 'INT64', shape: [n, 3], contents: { int64_contents: x.counts.flat() } },
          { name: 'amounts', datatype: 'FP64', shape: [n, 2], contents: { fp64_contents: x.amounts.flat() } },
          { name: 'ids', datatype: 'INT32', shape: [n, 1], contents: { int_contents: x.ids.flat() } },
          { name: 'flags', datatype: 'BOOL', shape: [n, 1], contents: { bool_contents: x.flags.flat() } },
        ];
        const typed = await infer({ model_name: MODEL, inputs });
        const out = Object.fromEntries(typed.outputs.map((o: any) => [o.name, o]));
        assert.equal(out.weighted.datatype, 'INT64');
        assert.deepEqual(out.weighted.contents.int64_contents.map(Number), expected.outputs.weighted.flat());
        assert.equal(out.scaled.datatype, 'FP64');
        assert.deepEqual(out.scaled.contents.fp64_contents, expected.outputs.scaled.flat());

        const raw = await infer({
          model_name: MODEL,
          inputs: inputs.map(({ contents: _c, ...rest }) => rest),
          raw_input_contents: [
            Buffer.from(BigInt64Array.from(x.counts.flat(), (v) => BigInt(v)).buffer),
            Buffer.from(Float64Array.from(x.amounts.flat()).buffer),
            Buffer.from(Int32Array.from(x.ids.flat()).buffer),
            Buffer.from(Uint8Array.from(x.flags.flat(), (v) => (v ? 1 : 0))),
          ],
        });
        const names = raw.outputs.map((o: any) => o.name);
        const bytes = (name: string): Buffer => raw.raw_output_contents[names.indexOf(name)];
        const w = bytes('weighted');
        assert.deepEqual(
          Array.from({ length: w.length / 8 }, (_, i) => Number(w.readBigInt64LE(i * 8))),
          expected.outputs.weighted.flat(),
        );
        const sc = bytes('scaled');
        assert.deepEqual(
          Array.from({ length: sc.length / 8 }, (_, i) => sc.readDoubleLE(i * 8)),
          expected.outputs.scaled.flat(),
        );
      } finally {
        client.close();
      }
    });

    it('refuses int64 values it cannot take exactly with a 400 naming the element', async () => {
      const cases: Array<[number, RegExp]> = [
        [2 ** 53 + 2, /not a valid INT64|within ±2\^53/],
        [1.5, /not a valid INT64|not an integer/],
      ];
      for (const [value, reason] of cases) {
        const inputs = v2Inputs(expected.inputs);
        inputs[0]!.data = [value, ...inputs[0]!.data.slice(1)];
        const res = await kiln.request('POST', `/v2/models/${MODEL}/infer`, { body: { inputs } });
        assert.equal(res.status, 400, res.text);
        assert.match(res.body.error ?? res.body.detail ?? res.text, /inputs\[0\]\.data\[0\]/);
        assert.match(res.text, reason);
      }
      // FP32 data into the float64 input is fine (the target decides); a string is not
      const inputs = v2Inputs(expected.inputs);
      inputs[1]!.data = ['x', ...inputs[1]!.data.slice(1)];
      const res = await kiln.request('POST', `/v2/models/${MODEL}/infer`, { body: { inputs } });
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, /inputs\[1\]\.data\[0\]/);
    });
  });
}

void main();
