/**
 * String tensors of an imported ONNX graph on the machine's PostgreSQL: Triton's `simple_string`
 * example model built as ONNX (test/support/onnx/make-simple-string-fixture.py: Cast string→int32,
 * Add/Sub, Cast int32→string), called the ways tritonclient's simple_http_string_infer_client.py and
 * simple_grpc_string_infer_client.py call it: /v2 BYTES as JSON strings, as binary data both ways,
 * and gRPC bytes_contents / raw contents. Elements that are not UTF-8, and text the graph cannot
 * parse, are 400s, audited like any refusal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { simpleStringGraph } from '../support/onnx/onnx-fixtures';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { auditRecord } from '../utils/audit-lookup';
import { importOnnx } from './onnx-import-helpers';
import { lengthPrefixed, tritonGrpcClient, type TritonGrpcClient } from '../inference/triton-test-client';

const MODEL = 'simple_string';
const A = Array.from({ length: 16 }, (_, i) => String(i));
const B = Array.from({ length: 16 }, () => '1');
const SUMS = A.map((a) => String(Number(a) + 1));
const DIFFERENCES = A.map((a) => String(Number(a) - 1));

function elementsOf(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let o = 0; o < bytes.length;) {
    const n = bytes.readUInt32LE(o);
    out.push(bytes.subarray(o + 4, o + 4 + n).toString('utf8'));
    o += 4 + n;
  }
  return out;
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('string tensors of an imported ONNX graph (Triton simple_string)', { skip }, () => {
    let kiln: TestKiln;
    let triton: TritonGrpcClient;
    const infer = (body: object) => kiln.request('POST', `/v2/models/${MODEL}/infer`, { body });
    const call = <T = any>(method: string, request: unknown) => triton.call<T>(method, request);

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_LOG_LEVEL: 'error', KILN_GRPC_PORT: '0' });
      triton = tritonGrpcClient(kiln);
    });
    after(async () => {
      triton?.close();
      await kiln?.close();
    });

    it('imports the graph with string inputs and outputs; /v2 metadata says BYTES', async () => {
      const res = await importOnnx(kiln, MODEL, simpleStringGraph());
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.signature, {
        inputs: [
          { name: 'INPUT0', dtype: 'string', shape: [-1, 16] },
          { name: 'INPUT1', dtype: 'string', shape: [-1, 16] },
        ],
        outputs: [
          { name: 'OUTPUT0', dtype: 'string', shape: [-1, 16] },
          { name: 'OUTPUT1', dtype: 'string', shape: [-1, 16] },
        ],
      });
      assert.equal((await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } })).status, 200);
      const meta = await eventually(async () => {
        const m = await kiln.request('GET', `/v2/models/${MODEL}`);
        return m.status === 200 ? m : undefined;
      });
      assert.deepEqual(
        [...meta.body.inputs, ...meta.body.outputs].map((t: { datatype: string }) => t.datatype),
        ['BYTES', 'BYTES', 'BYTES', 'BYTES'],
      );
    });

    it('/v2 JSON: BYTES strings in, the sums and differences out as strings', async () => {
      const res = await infer({
        inputs: [
          { name: 'INPUT0', datatype: 'BYTES', shape: [1, 16], data: A },
          { name: 'INPUT1', datatype: 'BYTES', shape: [1, 16], data: B },
        ],
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.outputs, [
        { name: 'OUTPUT0', datatype: 'BYTES', shape: [1, 16], data: SUMS },
        { name: 'OUTPUT1', datatype: 'BYTES', shape: [1, 16], data: DIFFERENCES },
      ]);
    });

    it('/v2 binary data both ways, as tritonclient.http sends it (INPUT0 JSON, INPUT1 binary, outputs binary)', async () => {
      const binary = lengthPrefixed(B);
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            { name: 'INPUT0', shape: [1, 16], datatype: 'BYTES', data: A },
            { name: 'INPUT1', shape: [1, 16], datatype: 'BYTES', parameters: { binary_data_size: binary.length } },
          ],
          outputs: [
            { name: 'OUTPUT0', parameters: { binary_data: true } },
            { name: 'OUTPUT1', parameters: { binary_data: true } },
          ],
        }),
      );
      const res = await fetch(`${kiln.url}/v2/models/${MODEL}/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kiln.adminKey}`, 'inference-header-content-length': String(header.length) },
        body: Buffer.concat([header, binary]),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, bytes.toString());
      const headerLength = Number(res.headers.get('inference-header-content-length'));
      const json = JSON.parse(bytes.subarray(0, headerLength).toString());
      const sizes = json.outputs.map((o: { parameters: { binary_data_size: number } }) => o.parameters.binary_data_size);
      const rest = bytes.subarray(headerLength);
      assert.deepEqual(elementsOf(rest.subarray(0, sizes[0])), SUMS);
      assert.deepEqual(elementsOf(rest.subarray(sizes[0])), DIFFERENCES);
    });

    it('gRPC: raw contents (tritonclient.grpc) and bytes_contents (KServe) in and out', async () => {
      const raw = await call('ModelInfer', {
        model_name: MODEL,
        inputs: [
          { name: 'INPUT0', datatype: 'BYTES', shape: [1, 16] },
          { name: 'INPUT1', datatype: 'BYTES', shape: [1, 16] },
        ],
        raw_input_contents: [lengthPrefixed(A), lengthPrefixed(B)],
      });
      assert.equal(raw.error, undefined, raw.error?.details);
      assert.deepEqual(raw.response.raw_output_contents.map(elementsOf), [SUMS, DIFFERENCES]);
      const typed = await call('ModelInfer', {
        model_name: MODEL,
        inputs: [
          { name: 'INPUT0', datatype: 'BYTES', shape: [1, 16], contents: { bytes_contents: A.map((s) => Buffer.from(s)) } },
          { name: 'INPUT1', datatype: 'BYTES', shape: [1, 16], contents: { bytes_contents: B.map((s) => Buffer.from(s)) } },
        ],
      });
      assert.equal(typed.error, undefined, typed.error?.details);
      assert.deepEqual(
        typed.response.outputs.map((o: { contents: { bytes_contents: Buffer[] } }) => o.contents.bytes_contents.map((b) => b.toString())),
        [SUMS, DIFFERENCES],
      );
    });

    it('text the graph cannot parse and elements that are not UTF-8 are 400s, each audited once', async () => {
      const words = await infer({
        inputs: [
          { name: 'INPUT0', datatype: 'BYTES', shape: [1, 16], data: [...A.slice(1), 'abc'] },
          { name: 'INPUT1', datatype: 'BYTES', shape: [1, 16], data: B },
        ],
      });
      assert.equal(words.status, 400, words.text);
      assert.match(words.body.error, /^the model cannot take these inputs: .*Cast/);
      const latin1 = await call('ModelInfer', {
        model_name: MODEL,
        inputs: [
          {
            name: 'INPUT0',
            datatype: 'BYTES',
            shape: [1, 16],
            contents: { bytes_contents: [Buffer.from([0xff]), ...A.slice(1).map((s) => Buffer.from(s))] },
          },
          { name: 'INPUT1', datatype: 'BYTES', shape: [1, 16], contents: { bytes_contents: B.map((s) => Buffer.from(s)) } },
        ],
      });
      assert.equal(latin1.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(latin1.error!.details, /input 'INPUT0' element 0 is not UTF-8 text/);
      // tritonclient's "he\x00llo": onnxruntime-node would cut it to "he"; refused instead of answered wrong
      const nul = await infer({
        inputs: [
          { name: 'INPUT0', datatype: 'BYTES', shape: [1, 16], data: [...A.slice(0, 15), '1\u00002'] },
          { name: 'INPUT1', datatype: 'BYTES', shape: [1, 16], data: B },
        ],
      });
      assert.equal(nul.status, 400, nul.text);
      assert.match(nul.body.error, /input 'INPUT0' element 15 holds a NUL byte/);
      const record = await auditRecord(kiln, words.headers.get('x-request-id')!);
      assert.deepEqual([record.route, record.status, record.error], ['oip', 400, words.body.error]);
    });
  });
}

void main();
