/**
 * The bytes of /v1 and /v2 requests and responses, end to end on PostgreSQL, replaying what the real
 * clients send (expected answers written down from the peers' code and docs):
 *
 *  - tritonclient.http (`simple_http_infer_client.py`): infer JSON without a Content-Type, INPUT0 as
 *    JSON and INPUT1 as binary, OUTPUT0 asked in binary, OUTPUT1 in JSON, query parameters, request
 *    bodies compressed with gzip or deflate; the `simple` model (OUTPUT0 = sum, OUTPUT1 = difference);
 *  - KServe `python/kserve/test/test_server.py`: FP16 input as binary (`application/octet-stream`),
 *    every output in binary (`binary_data_output`), per-output `binary_data` precedence, and the
 *    `Inference-Header-Content-Length` answer; `requests.post(data=…)` without a Content-Type;
 *  - Triton's limits: JSON nested 100 deep, the serving routes' own body limit (64 MB by default).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import {
  IDENTITY_SIGNATURE,
  identityGraphModel,
  identitySignature,
  SIMPLE_SIGNATURE,
  simpleAddSubGraphModel,
} from '../support/tfjs/graph-model-fixture';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { auditRecord, chainedAuditRecord } from '../utils/audit-lookup';
import { servingReady } from './triton-test-client';
import { importGraphModel } from '../models/model-import-helpers';

const SIMPLE = 'simple';
const IDENTITY = 'fp16-identity';
const TWO_VARIABLE = 'identity-two-variable';

interface RawResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

/** A request with exactly the given headers and body bytes (no Content-Type unless given). */
async function raw(kiln: TestKiln, path: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const res = await fetch(`${kiln.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kiln.adminKey}`, ...headers },
    body: typeof body === 'string' ? Buffer.from(body) : body,
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

function json(res: RawResponse): any {
  return JSON.parse(res.bytes.toString('utf8'));
}

function assertError(res: RawResponse, status: number, pattern: RegExp): void {
  assert.equal(res.status, status, res.bytes.toString('utf8'));
  const body = json(res);
  assert.deepEqual(Object.keys(body), ['error']);
  assert.match(body.error, pattern);
}

/** tritonclient's request for simple_http_infer_client.py: INPUT0 JSON, INPUT1 binary, OUTPUT0 binary. */
function tritonSimpleRequest(): { body: Buffer; headerLength: number; input0: number[]; input1: number[] } {
  const input0 = Array.from({ length: 16 }, (_, i) => i);
  const input1 = Array.from({ length: 16 }, () => 1);
  const header = JSON.stringify({
    inputs: [
      { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: input0 },
      { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: 64 } },
    ],
    outputs: [
      { name: 'OUTPUT0', parameters: { binary_data: true } },
      { name: 'OUTPUT1', parameters: { binary_data: false } },
    ],
  });
  const head = Buffer.from(header);
  return { body: Buffer.concat([head, Buffer.from(new Int32Array(input1).buffer)]), headerLength: head.length, input0, input1 };
}

/** Splits a binary-extension answer into its JSON header and the bytes after it. */
function splitAnswer(res: RawResponse): { header: any; tail: Buffer } {
  const length = Number(res.headers.get('inference-header-content-length'));
  assert.ok(
    length > 0 && length <= res.bytes.length,
    `Inference-Header-Content-Length: ${res.headers.get('inference-header-content-length')}`,
  );
  return { header: JSON.parse(res.bytes.subarray(0, length).toString('utf8')), tail: res.bytes.subarray(length) };
}

/** A request over node:http (no automatic Accept-Encoding, no automatic inflating): the bytes as sent. */
function exact(
  kiln: TestKiln,
  method: string,
  path: string,
  body: string | Buffer | null,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${kiln.url}${path}`, { method, headers: { authorization: `Bearer ${kiln.adminKey}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('serving bytes: untyped bodies, binary tensors, compressed bodies, limits (configuration "postgres")', { skip }, () => {
    let kiln: TestKiln;

    before(async () => {
      await TfRuntime.initForTests();
      // Small limits so the test does not move megabytes: the serving routes have their own, larger one.
      kiln = await startTestKiln('postgres', { KILN_BODY_LIMIT_BYTES: '65536', KILN_SERVING_BODY_LIMIT_BYTES: '262144' });
      await importGraphModel(kiln, SIMPLE, simpleAddSubGraphModel(), SIMPLE_SIGNATURE);
      await importGraphModel(kiln, IDENTITY, identityGraphModel(), IDENTITY_SIGNATURE);
      await importGraphModel(kiln, TWO_VARIABLE, identityGraphModel(-1), identitySignature(-1));
      await servingReady(kiln);
    });
    after(async () => {
      await kiln?.close();
    });

    it('GET /v2 lists binary_tensor_data among the extensions', async () => {
      const meta = await kiln.request('GET', '/v2', { key: null });
      assert.equal(meta.status, 200, meta.text);
      assert.ok(meta.body.extensions.includes('binary_tensor_data'), meta.text);
    });

    it('a body without Content-Type is JSON on /v2 and /v1 (tritonclient, requests.post(data=…)); still 415 on /api', async () => {
      const v2 = await raw(
        kiln,
        `/v2/models/${IDENTITY}/infer`,
        JSON.stringify({ inputs: [{ name: 'fp32_input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
      );
      assert.equal(v2.status, 200, v2.bytes.toString());
      assert.deepEqual(json(v2).outputs[0].data, [1, 2, 3, 4]);
      const v1 = await raw(kiln, `/v1/models/${IDENTITY}:predict`, JSON.stringify({ instances: [[1, 2, 3, 4]] }));
      assert.equal(v1.status, 200, v1.bytes.toString());
      assert.deepEqual(json(v1), { predictions: [[1, 2, 3, 4]] });
      const bad = await raw(kiln, `/v2/models/${IDENTITY}/infer`, '{"inputs": [');
      assertError(bad, 400, /^body: not valid JSON/);
      const api = await raw(kiln, '/api/keys', JSON.stringify({ name: 'k', role: 'predictor' }));
      assert.equal(api.status, 415, api.bytes.toString());
    });

    it('simple_http_infer_client: binary INPUT1 in, binary OUTPUT0 and JSON OUTPUT1 out, no Content-Type, query parameters', async () => {
      const { body, headerLength, input0, input1 } = tritonSimpleRequest();
      const res = await raw(kiln, `/v2/models/${SIMPLE}/infer?test_1=1&test_2=2`, body, {
        'inference-header-content-length': String(headerLength),
      });
      assert.equal(res.status, 200, res.bytes.toString('latin1'));
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      const { header, tail } = splitAnswer(res);
      assert.equal(header.model_name, SIMPLE);
      assert.deepEqual(header.outputs, [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], data: input0.map((v, i) => v - input1[i]!) },
      ]);
      assert.deepEqual(
        Array.from(new Int32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + tail.length))),
        input0.map((v, i) => v + input1[i]!),
      );
    });

    it('the same request under application/octet-stream; Content-Encoding gzip and deflate bodies are inflated', async () => {
      const { body, headerLength } = tritonSimpleRequest();
      const headers = { 'inference-header-content-length': String(headerLength) };
      const plain = await raw(kiln, `/v2/models/${SIMPLE}/infer`, body, { ...headers, 'content-type': 'application/octet-stream' });
      assert.equal(plain.status, 200, plain.bytes.toString('latin1'));
      for (const [encoding, packed] of [
        ['gzip', gzipSync(body)],
        ['deflate', deflateSync(body)],
      ] as const) {
        const res = await raw(kiln, `/v2/models/${SIMPLE}/infer`, packed, { ...headers, 'content-encoding': encoding });
        assert.equal(res.status, 200, `${encoding}: ${res.bytes.toString('latin1')}`);
        assert.deepEqual(res.bytes, plain.bytes, encoding);
      }
      const jsonGz = await raw(kiln, `/v1/models/${IDENTITY}:predict`, gzipSync(JSON.stringify({ instances: [[1, 2, 3, 4]] })), {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      });
      assert.equal(jsonGz.status, 200, jsonGz.bytes.toString());
      const corrupt = await raw(kiln, `/v2/models/${SIMPLE}/infer`, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
      assert.equal(corrupt.status, 400, corrupt.bytes.toString());
      const unknown = await raw(kiln, `/v2/models/${SIMPLE}/infer`, body, { ...headers, 'content-encoding': 'compress' });
      assert.equal(unknown.status, 415, unknown.bytes.toString());
    });

    it('KServe test_fp16_input_as_binary_data: FP16 bytes reach an FP32 input as the values they denote', async () => {
      // np.array([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]], dtype=np.float16).tobytes()
      const fp16 = Buffer.from('\xcdF\x9aA\xcdD\x9a=\x00F\xcdB\x80Df>', 'latin1');
      const head = Buffer.from(
        JSON.stringify({
          id: '123',
          inputs: [{ name: 'fp32_input', shape: [2, 4], datatype: 'FP16', parameters: { binary_data_size: 16 } }],
        }),
      );
      const res = await raw(kiln, `/v2/models/${IDENTITY}/infer`, Buffer.concat([head, fp16]), {
        'inference-header-content-length': String(head.length),
        'content-type': 'application/octet-stream',
      });
      assert.equal(res.status, 200, res.bytes.toString('latin1'));
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = json(res);
      assert.equal(body.id, '123');
      // KServe's expected fp32_output for that request, as float32 (Kiln prints float32 by its shortest decimal)
      assert.deepEqual(
        body.outputs[0].data.map(Math.fround),
        [6.80078125, 2.80078125, 4.80078125, 1.400390625, 6.0, 3.400390625, 4.5, 1.599609375],
      );
    });

    it('KServe test_all_output_as_binary_data / test_binary_data_parameter_precedence: golden float32 bytes after the JSON', async () => {
      const fp32 = [
        [6.8, 2.8, 4.8, 1.4],
        [6.0, 3.4, 4.5, 1.6],
      ];
      const goldenTail = Buffer.from('\x9a\x99\xd9@333@\x9a\x99\x99@33\xb3?\x00\x00\xc0@\x9a\x99Y@\x00\x00\x90@\xcd\xcc\xcc?', 'latin1');
      const request = (extra: object) =>
        JSON.stringify({ id: '123', inputs: [{ name: 'fp32_input', shape: [2, 4], datatype: 'FP32', data: fp32 }], ...extra });
      const all = await raw(kiln, `/v2/models/${IDENTITY}/infer`, request({ parameters: { binary_data_output: true } }), {
        'content-type': 'application/json',
      });
      assert.equal(all.status, 200, all.bytes.toString('latin1'));
      const { header, tail } = splitAnswer(all);
      assert.deepEqual(header, {
        model_name: IDENTITY,
        model_version: '1',
        id: '123',
        outputs: [{ name: 'fp32_output', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } }],
      });
      assert.deepEqual(tail, goldenTail);
      const precedence = await raw(
        kiln,
        `/v2/models/${IDENTITY}/infer`,
        request({ parameters: { binary_data_output: true }, outputs: [{ name: 'fp32_output', parameters: { binary_data: false } }] }),
        { 'content-type': 'application/json' },
      );
      assert.equal(precedence.status, 200);
      assert.equal(precedence.headers.get('inference-header-content-length'), null);
      assert.equal(json(precedence).outputs[0].data.length, 8);
    });

    it('400 naming the field: bad header length, sizes that do not match, leftovers; 415 for octet-stream on /v1 and /api', async () => {
      const { body, headerLength } = tritonSimpleRequest();
      const path = `/v2/models/${SIMPLE}/infer`;
      assertError(
        await raw(kiln, path, body, { 'inference-header-content-length': String(body.length + 1) }),
        400,
        /^inference-header-content-length: "\d+" must be the byte length of the JSON part/,
      );
      assertError(await raw(kiln, path, body, { 'inference-header-content-length': 'ten' }), 400, /^inference-header-content-length/);
      assertError(
        await raw(kiln, path, body.subarray(0, body.length - 4), { 'inference-header-content-length': String(headerLength) }),
        400,
        /^inputs\[1\]\.parameters\.binary_data_size: 64 bytes from offset 0 run past the binary data \(60 bytes/,
      );
      assertError(
        await raw(kiln, path, Buffer.concat([body, Buffer.alloc(4)]), { 'inference-header-content-length': String(headerLength) }),
        400,
        /^body: unexpected additional input data for model 'simple'/,
      );
      // binary_data_size without the header: the whole body was read as JSON
      assertError(await raw(kiln, path, body.subarray(0, headerLength)), 400, /must specify valid 'Inference-Header-Content-Length'/);
      const v1 = await raw(kiln, `/v1/models/${IDENTITY}:predict`, '{"instances": [[1, 2, 3, 4]]}', {
        'content-type': 'application/octet-stream',
      });
      assertError(v1, 415, /Content-Type: application\/octet-stream is not supported/);
      const api = await raw(kiln, '/api/keys', '{}', { 'content-type': 'application/octet-stream' });
      assert.equal(api.status, 415, api.bytes.toString());
    });

    it('Triton http_test.py raw binary (Inference-Header-Content-Length: 0): the body is the one input, outputs binary', async () => {
      const headers = { 'Inference-Header-Content-Length': '0' };
      // test_raw_binary, test_raw_binary_longer (np.arange(n, dtype=np.float32).tobytes(), identity model)
      for (const n of [8, 32]) {
        const input = Buffer.from(new Float32Array(Array.from({ length: n }, (_, i) => i)).buffer);
        const res = await raw(kiln, `/v2/models/${IDENTITY}/infer`, input, headers);
        assert.equal(res.status, 200, res.bytes.toString('latin1'));
        const { header, tail } = splitAnswer(res);
        assert.deepEqual(header.outputs, [
          { name: 'fp32_output', datatype: 'FP32', shape: [n / 4, 4], parameters: { binary_data_size: n * 4 } },
        ]);
        assert.deepEqual(tail, input);
      }
      // test_raw_binary on onnx_zero_1_float32, which batches with dims [-1] (Kiln: [-1, -1]): Triton deduces a
      // batch of one, [1, n]
      const eight = Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]).buffer);
      const twoVariable = await raw(kiln, `/v2/models/${TWO_VARIABLE}/infer`, eight, headers);
      assert.equal(twoVariable.status, 200, twoVariable.bytes.toString('latin1'));
      assert.deepEqual(splitAnswer(twoVariable).header.outputs[0].shape, [1, 8]);
      assert.deepEqual(splitAnswer(twoVariable).tail, eight);
      // test_multi_inputs: Triton's message (test_multi_variable_dimensions, on a model with two variable
      // dimensions besides the batch, is replayed in binary-tensors.spec.ts)
      assertError(
        await raw(kiln, `/v2/models/${SIMPLE}/infer`, Buffer.alloc(96), headers),
        400,
        /^Raw request must only have 1 input \(found 1\) to be deduced but got 2 inputs in 'simple' model configuration$/,
      );
      assertError(
        await raw(kiln, `/v2/models/${IDENTITY}/infer`, Buffer.alloc(12), headers),
        400,
        /^body: 12 bytes are not a whole number/,
      );
      // test_inference_header_content_length_out_of_range
      assertError(
        await raw(kiln, `/v2/models/${IDENTITY}/infer`, '{"inputs": []}', { 'Inference-Header-Content-Length': '99999999999' }),
        400,
        /^inference-header-content-length/,
      );
    });

    it("an unknown model on /v2 is 404 'Request for unknown model' (tritonclient's examples look for it)", async () => {
      for (const res of [
        await raw(kiln, '/v2/models/wrong_model_name/infer', tritonSimpleRequest().body, {
          'inference-header-content-length': String(tritonSimpleRequest().headerLength),
        }),
        await kiln
          .request('GET', '/v2/models/wrong_model_name')
          .then((r) => ({ status: r.status, headers: r.headers, bytes: Buffer.from(r.text) })),
      ]) {
        assertError(res, 404, /^Request for unknown model: 'wrong_model_name' is not found$/);
      }
    });

    it('every answered binary call is audited exactly once', async () => {
      const { body, headerLength } = tritonSimpleRequest();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await raw(kiln, `/v2/models/${SIMPLE}/infer`, body, { 'inference-header-content-length': String(headerLength) });
        assert.equal(res.status, 200);
        ids.push(res.headers.get('x-request-id')!);
      }
      // chained: the listing below must hold each call once
      for (const id of ids) assert.equal((await chainedAuditRecord(kiln, id)).requestId, id);
      const listed = await kiln.request('GET', '/api/audit/predictions?limit=500');
      for (const id of ids) assert.equal(listed.body.items.filter((p: { requestId: string }) => p.requestId === id).length, 1, id);
    });

    it('inference answers are compressed per Accept-Encoding (gzip, deflate), binary ones too; nothing else is (as Triton)', async () => {
      const values = Array.from({ length: 400 }, (_, i) => i / 8);
      const body = JSON.stringify({ inputs: [{ name: 'fp32_input', shape: [4, 100], datatype: 'FP32', data: values }] });
      const path = `/v2/models/${TWO_VARIABLE}/infer`;
      const plain = await exact(kiln, 'POST', path, body, { 'content-type': 'application/json' });
      assert.equal(plain.status, 200, plain.bytes.toString());
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.deepEqual(JSON.parse(plain.bytes.toString()).outputs[0].data, values);

      const gz = await exact(kiln, 'POST', path, body, { 'content-type': 'application/json', 'accept-encoding': 'gzip' });
      assert.equal(gz.status, 200);
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.ok(gz.bytes.length < plain.bytes.length, `${gz.bytes.length} vs ${plain.bytes.length}`);
      assert.deepEqual(gunzipSync(gz.bytes), plain.bytes);
      assert.equal(gz.headers['content-type'], 'application/json');

      // tritonclient's `response_compression_algorithm="deflate"`: zlib-wrapped deflate, as Content-Encoding: deflate means
      const df = await exact(kiln, 'POST', path, body, { 'content-type': 'application/json', 'accept-encoding': 'deflate' });
      assert.equal(df.headers['content-encoding'], 'deflate');
      assert.deepEqual(inflateSync(df.bytes), plain.bytes);
      // br is not one of Triton's encodings: identity
      const br = await exact(kiln, 'POST', path, body, { 'content-type': 'application/json', 'accept-encoding': 'br' });
      assert.equal(br.headers['content-encoding'], undefined);
      assert.deepEqual(br.bytes, plain.bytes);

      // binary outputs: the whole body is compressed; Inference-Header-Content-Length counts the inflated JSON header
      const binary = JSON.stringify({ ...JSON.parse(body), parameters: { binary_data_output: true } });
      const bin = await exact(kiln, 'POST', path, binary, { 'content-type': 'application/json', 'accept-encoding': 'gzip' });
      assert.equal(bin.headers['content-encoding'], 'gzip');
      assert.equal(bin.headers['content-type'], 'application/octet-stream');
      const inflated = gunzipSync(bin.bytes);
      const headerLength = Number(bin.headers['inference-header-content-length']);
      const header = JSON.parse(inflated.subarray(0, headerLength).toString());
      assert.equal(header.outputs[0].parameters.binary_data_size, 1600);
      const tail = inflated.subarray(headerLength);
      assert.deepEqual(
        Array.from({ length: 400 }, (_, i) => tail.readFloatLE(i * 4)),
        values,
      );

      // TF Serving's :predict too
      const v1Body = JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => [i, i + 0.5, -i, i / 4]) });
      const v1 = await exact(kiln, 'POST', `/v1/models/${IDENTITY}:predict`, v1Body, {
        'content-type': 'application/json',
        'accept-encoding': 'gzip, deflate',
      });
      assert.equal(v1.status, 200);
      assert.equal(v1.headers['content-encoding'], 'gzip');
      assert.equal(JSON.parse(gunzipSync(v1.bytes).toString()).predictions.length, 100);

      // Not inference: identity, whatever the client accepts (tritonclient's aio client sends aiohttp's
      // default Accept-Encoding everywhere and inflates only inference answers).
      for (const other of ['/v2/models/' + TWO_VARIABLE, '/v2/models/' + TWO_VARIABLE + '/config', '/v2/models/stats']) {
        const res = await exact(kiln, 'GET', other, null, { 'accept-encoding': 'gzip, deflate' });
        assert.equal(res.status, 200, `${other}: ${res.bytes.toString().slice(0, 200)}`);
        assert.equal(res.headers['content-encoding'], undefined, other);
        JSON.parse(res.bytes.toString());
      }
    });

    it('every answered inference call is audited exactly once, refusals before the runtime included', async () => {
      const infer = `/v2/models/${IDENTITY}/infer`;
      const good = JSON.stringify({ inputs: [{ name: 'fp32_input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
      const refusals: Array<{ why: string; path: string; body: string | Buffer; headers?: Record<string, string>; status: number }> = [
        { why: 'body parser: not JSON', path: infer, body: '{"inputs": [', headers: { 'content-type': 'application/json' }, status: 400 },
        {
          why: 'JSON depth guard',
          path: infer,
          body: `{"inputs": ${'['.repeat(101)}${']'.repeat(101)}}`,
          headers: { 'content-type': 'application/json' },
          status: 400,
        },
        { why: 'content type', path: infer, body: good, headers: { 'content-type': 'application/xml' }, status: 415 },
        {
          why: 'a gzip body that is not gzip',
          path: infer,
          body: good,
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          status: 400,
        },
        { why: 'codec', path: infer, body: '{"inputs": []}', headers: { 'content-type': 'application/json' }, status: 400 },
        { why: 'unknown model', path: '/v2/models/no-such-model/infer', body: good, status: 404 },
        { why: 'no key', path: infer, body: good, headers: { authorization: '' }, status: 401 },
        { why: 'v1 body parser', path: `/v1/models/${IDENTITY}:predict`, body: '{"instances": [1,', status: 400 },
        { why: 'v1 codec', path: `/v1/models/${IDENTITY}:predict`, body: '{"instances": 7}', status: 400 },
        { why: 'v1 unknown model', path: '/v1/models/no-such-model:predict', body: '{"instances": [[1, 2, 3, 4]]}', status: 404 },
      ];
      for (const r of refusals) {
        const res = await exact(kiln, 'POST', r.path, r.body, r.headers ?? {});
        assert.equal(res.status, r.status, `${r.why}: ${res.bytes.toString()}`);
        const id = res.headers['x-request-id'] as string;
        const record = await auditRecord(kiln, id);
        assert.deepEqual(
          [record.route, record.status, record.version, record.rows, record.inputs, record.error],
          [r.path.startsWith('/v1') ? 'tfserving' : 'oip', r.status, null, 0, null, JSON.parse(res.bytes.toString()).error],
          r.why,
        );
        assert.equal(record.model, /no-such-model/.test(r.path) ? 'no-such-model' : IDENTITY, r.why);
      }
      // a call the runtime audited is not audited again by the answer
      const ok = await exact(kiln, 'POST', infer, good, { 'content-type': 'application/json' });
      const refusedInRuntime = await exact(
        kiln,
        'POST',
        infer,
        JSON.stringify({ inputs: [{ name: 'fp32_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }),
        { 'content-type': 'application/json' },
      );
      assert.deepEqual([ok.status, refusedInRuntime.status], [200, 400], refusedInRuntime.bytes.toString());
      const ids = [ok, refusedInRuntime].map((r) => r.headers['x-request-id'] as string);
      for (const id of ids) await chainedAuditRecord(kiln, id);
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would be written by the same batch or the next one
      const listed = await kiln.request('GET', '/api/audit/predictions?limit=500');
      for (const id of ids) assert.equal(listed.body.items.filter((p: { requestId: string }) => p.requestId === id).length, 1, id);
    });

    it('JSON nests up to 100 levels on /v1 and /v2 (Triton), 64 elsewhere', async () => {
      const nested = (depth: number) => `{"inputs": ${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
      const at100 = await raw(kiln, `/v2/models/${IDENTITY}/infer`, nested(100), { 'content-type': 'application/json' });
      assert.equal(at100.status, 400);
      assert.doesNotMatch(json(at100).error, /nesting/);
      assertError(
        await raw(kiln, `/v2/models/${IDENTITY}/infer`, nested(101), { 'content-type': 'application/json' }),
        400,
        /JSON nesting depth exceeds maximum allowed limit \(100\)/,
      );
      const api = await raw(kiln, '/api/keys', nested(70), { 'content-type': 'application/json' });
      assert.equal(api.status, 400);
      assert.match(api.bytes.toString(), /JSON nesting depth exceeds maximum allowed limit \(64\)/);
    });

    it('nested data whose lists each hold one element reads as nested (Triton http_test test_json_recursion_depth_limit)', async () => {
      // Triton's case: shape [1, 1], the one value nested 50 levels deep → 200. [[1.5]] and [[1], [2]] have as many
      // top-level entries as elements, which a flat list has too: they must still be walked as nested lists.
      const infer = (shape: number[], data: unknown) =>
        raw(kiln, `/v2/models/${TWO_VARIABLE}/infer`, JSON.stringify({ inputs: [{ name: 'fp32_input', datatype: 'FP32', shape, data }] }), {
          'content-type': 'application/json',
        });
      let deep: unknown = 1.5;
      for (let i = 0; i < 50; i++) deep = [deep];
      for (const [shape, data, expected] of [
        [[1, 1], deep, [1.5]],
        [[1, 1], [[1.5]], [1.5]],
        [
          [2, 1],
          [[1], [2]],
          [1, 2],
        ],
      ] as Array<[number[], unknown, number[]]>) {
        const res = await infer(shape, data);
        assert.equal(res.status, 200, `${JSON.stringify(data).slice(0, 40)}: ${res.bytes.toString()}`);
        assert.deepEqual(json(res).outputs[0].shape, shape);
        assert.deepEqual(json(res).outputs[0].data, expected);
      }
      assertError(await infer([2, 1], [[1], [[2, 3]]]), 400, /3 elements for shape \[2, 1\], which needs 2/);
    });

    it('the serving routes have their own body limit (KILN_SERVING_BODY_LIMIT_BYTES), larger than the rest of the API', async () => {
      const rows = Array.from({ length: 4000 }, (_, i) => [i, i + 0.5, -i, 1e-3 * i]);
      const big = JSON.stringify({ instances: rows }); // about 130 KB: past KILN_BODY_LIMIT_BYTES, within the serving limit
      assert.ok(big.length > 65536 && big.length < 262144, String(big.length));
      const ok = await raw(kiln, `/v1/models/${IDENTITY}:predict`, big, { 'content-type': 'application/json' });
      assert.equal(ok.status, 200, ok.bytes.toString().slice(0, 300));
      assert.equal(json(ok).predictions.length, 4000);
      // The 413 says the size and the limit, in Triton's words (qa/L0_http/http_test.py test_loading_large_invalid_model
      // looks for "request JSON size" and " exceeds the maximum allowed input size").
      const tooBigBody = big + ' '.repeat(262144);
      const tooBig = await raw(kiln, `/v1/models/${IDENTITY}:predict`, tooBigBody, { 'content-type': 'application/json' });
      assert.equal(tooBig.status, 413);
      assert.equal(
        json(tooBig).error,
        `body: request JSON size of ${Buffer.byteLength(tooBigBody)} bytes exceeds the maximum allowed input size of 262144 bytes`,
      );
      // Triton's test: a repository load whose file parameter is past the limit, sent by requests without a Content-Type
      const load = await raw(
        kiln,
        `/v2/repository/models/${IDENTITY}/load`,
        JSON.stringify({ parameters: { 'file:1/model.onnx': 'A'.repeat(300000) } }),
      );
      assert.equal(load.status, 413);
      assert.equal(load.headers.get('content-type'), 'application/json');
      assert.match(json(load).error, /^body: request JSON size of 300\d{3} bytes exceeds the maximum allowed input size of 262144 bytes$/);
      const api = await raw(kiln, '/api/keys', JSON.stringify({ name: 'x'.repeat(70000) }), { 'content-type': 'application/json' });
      assert.equal(api.status, 413);
      assert.match(
        api.bytes.toString(),
        /"detail":"body: request JSON size of 700\d\d bytes exceeds the maximum allowed input size of 65536 bytes"/,
      );
      // a gzip bomb is bounded by the limit on the inflated size
      const bomb = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
      const inflated = await raw(kiln, `/v1/models/${IDENTITY}:predict`, bomb, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      });
      assert.equal(inflated.status, 413);
      assert.equal(
        json(inflated).error,
        'body: request JSON size of more than 262144 bytes once inflated exceeds the maximum allowed input size of 262144 bytes',
      );
    });
  });
}

void main();
