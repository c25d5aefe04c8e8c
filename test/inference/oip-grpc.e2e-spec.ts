/**
 * Open Inference Protocol over gRPC end to end on PostgreSQL: a client generated at run time from the
 * committed proto (proto/grpc_predict_v2.proto, by @grpc/proto-loader, as any gRPC client generates
 * its stubs) calls every RPC of `inference.GRPCInferenceService` on KILN_GRPC_PORT: the same answers
 * as /v2 over REST, auth through call metadata, every inference audited exactly once (route `oip-grpc`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as tfl from '@tensorflow/tfjs-layers';
import { Client } from 'pg';
import { OpenInferenceGrpcServer } from '../../src/inference/grpc/open-inference.grpc-server';
import { loadOipGrpcPackage, loadTritonGrpcPackage } from '../../src/inference/grpc/grpc-predict-v2';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { servingReady } from './triton-test-client';
import { importGraphModel, importLayersModel } from '../models/model-import-helpers';
import { SIMPLE_SIGNATURE, simpleAddSubGraphModel, TEXT_SIGNATURE, textGraphModel } from '../support/tfjs/graph-model-fixture';

const ROUTED = 'grpc-routed';
const LOOSE = 'grpc-loose';
const SIGNATURE = {
  inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 2] }],
};
const ROWS = [0.1, 0.2, 0.3, 1, -1, 0.5];
/** Triton's `simple` (OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 − INPUT1, int32 [-1, 16]) and a string model. */
const SIMPLE = 'simple';
const TEXT = 'grpc-text';

/** tritonclient's serialize_byte_tensor: each element a 4-byte little-endian length, then its bytes. */
function lengthPrefixed(elements: Buffer[]): Buffer {
  return Buffer.concat(
    elements.flatMap((e) => {
      const n = Buffer.alloc(4);
      n.writeUInt32LE(e.length);
      return [n, e];
    }),
  );
}

/** INPUT0, INPUT1 of `simple` as tritonclient.grpc sends them (raw_input_contents, little-endian int32). */
function simpleRequest(id: string, a: number[], b: number[], parameters: object = {}) {
  const raw = (v: number[]) => Buffer.from(new Int32Array(v).buffer);
  return {
    model_name: SIMPLE,
    id,
    parameters,
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, a.length] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, b.length] },
    ],
    outputs: [{ name: 'OUTPUT0' }, { name: 'OUTPUT1' }],
    raw_input_contents: [raw(a), raw(b)],
  };
}

function int32s(bytes: Buffer): number[] {
  return Array.from(new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
}

function denseModel(seed: number): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(
    tfl.layers.dense({ units: 2, activation: 'softmax', inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
  );
  return m;
}

interface Answer<T> {
  response?: T;
  error?: grpc.ServiceError;
  requestId?: string;
}

/** A bidirectional streaming RPC of a generated client (ModelStreamInfer). */
interface StreamClient {
  ModelStreamInfer(metadata: grpc.Metadata): grpc.ClientDuplexStream<unknown, any>;
}

type Rpc = (
  request: unknown,
  metadata: grpc.Metadata,
  callback: (err: grpc.ServiceError | null, res: unknown) => void,
) => grpc.ClientUnaryCall;

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('OIP over gRPC on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let client: grpc.Client & Record<string, Rpc>;
    /** A client generated from Triton's grpc_service.proto, as tritonclient's stubs are. */
    let triton: grpc.Client & Record<string, Rpc>;
    let pg: Client;
    let predictorKey: string;
    let auditorKey: string;

    /** Calls one RPC with `key` (admin by default, null: none); the x-request-id metadata kept. */
    const call = <T = any>(method: string, request: unknown, key: string | null = kiln.adminKey, via = client): Promise<Answer<T>> =>
      new Promise((resolve) => {
        const metadata = new grpc.Metadata();
        if (key) metadata.set('authorization', `Bearer ${key}`);
        let requestId: string | undefined;
        const c = via[method]!.call(via, request, metadata, (err, res) =>
          resolve(err ? { error: err, ...(requestId ? { requestId } : {}) } : { response: res as T, ...(requestId ? { requestId } : {}) }),
        );
        c.on('metadata', (m: grpc.Metadata) => (requestId = m.get('x-request-id')[0] as string | undefined));
      });

    const metadataWith = (key: string) => {
      const m = new grpc.Metadata();
      m.set('authorization', `Bearer ${key}`);
      return m;
    };

    const auditRows = async (requestId: string) =>
      (await pg.query('SELECT route, status, model_version, error FROM audit_predictions WHERE request_id = $1', [requestId])).rows;

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres', { KILN_GRPC_PORT: '0', KILN_ROUTING_REFRESH_MS: '200' });
      await importLayersModel(kiln, ROUTED, denseModel(1), SIGNATURE);
      assert.equal((await kiln.request('PUT', `/api/models/${ROUTED}/aliases/production`, { body: { version: 1 } })).status, 200);
      await importLayersModel(kiln, LOOSE, denseModel(2), SIGNATURE);
      await importGraphModel(kiln, SIMPLE, simpleAddSubGraphModel(), SIMPLE_SIGNATURE);
      await importGraphModel(kiln, TEXT, textGraphModel(), TEXT_SIGNATURE);
      predictorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'predictor', role: 'predictor' } })).body.key;
      auditorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } })).body.key;
      const port = kiln.app.get(OpenInferenceGrpcServer).port;
      assert.ok(port, 'the gRPC listener is up');
      const Service = loadOipGrpcPackage().GRPCInferenceService;
      client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Rpc>;
      const Triton = loadTritonGrpcPackage().GRPCInferenceService;
      triton = new Triton(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Rpc>;
      pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
      await servingReady(kiln);
    });
    after(async () => {
      client?.close();
      triton?.close();
      await pg?.end();
      await kiln?.close();
    });

    it('ServerLive, ServerReady and ServerMetadata answer without a key', async () => {
      assert.deepEqual((await call('ServerLive', {}, null)).response, { live: true });
      assert.deepEqual((await call('ServerReady', {}, null)).response, { ready: true });
      const meta = await call('ServerMetadata', {}, null);
      const rest = await kiln.request('GET', '/v2', { key: null });
      // the proto's ServerMetadataResponse has no field for REST's extra `engines`
      assert.deepEqual(meta.response, { name: rest.body.name, version: rest.body.version, extensions: rest.body.extensions });
    });

    it('ModelMetadata answers what GET /v2/models/{name} answers; errors map to gRPC codes', async () => {
      const res = await call('ModelMetadata', { name: ROUTED }, predictorKey);
      assert.equal(res.error, undefined, res.error?.details);
      const rest = await kiln.request('GET', `/v2/models/${ROUTED}`, { key: predictorKey });
      assert.deepEqual(res.response, rest.body);
      assert.deepEqual((await call('ModelMetadata', { name: ROUTED, version: '1' })).response, rest.body);

      const none = await call('ModelMetadata', { name: ROUTED }, null);
      assert.equal(none.error?.code, grpc.status.UNAUTHENTICATED);
      assert.match(none.error!.details, /API key is required/);
      assert.equal((await call('ModelMetadata', { name: ROUTED }, 'kiln_nope_nope')).error?.code, grpc.status.UNAUTHENTICATED);
      const auditor = await call('ModelMetadata', { name: ROUTED }, auditorKey);
      assert.equal(auditor.error?.code, grpc.status.PERMISSION_DENIED);
      const unknown = await call('ModelMetadata', { name: 'no-such-model' });
      assert.equal(unknown.error?.code, grpc.status.NOT_FOUND);
      assert.match(unknown.error!.details, /no-such-model/);
      assert.equal((await call('ModelMetadata', { name: ROUTED, version: '7' })).error?.code, grpc.status.NOT_FOUND);
      const empty = await call('ModelMetadata', {});
      assert.equal(empty.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(empty.error!.details, /^name: required/);
    });

    it('ModelReady: true for a routed model, false for a known model nothing loaded, NOT_FOUND for an unknown one', async () => {
      assert.deepEqual((await call('ModelReady', { name: ROUTED }, predictorKey)).response, { ready: true });
      assert.deepEqual((await call('ModelReady', { name: ROUTED, version: '1' }, predictorKey)).response, { ready: true });
      assert.deepEqual((await call('ModelReady', { name: LOOSE }, predictorKey)).response, { ready: false });
      assert.equal((await call('ModelReady', { name: 'no-such-model' }, predictorKey)).error?.code, grpc.status.NOT_FOUND);
    });

    it('ModelInfer with typed contents answers what REST answers, id echoed, audited once as oip-grpc', async () => {
      const res = await call(
        'ModelInfer',
        {
          model_name: ROUTED,
          id: 'grpc-1',
          inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: ROWS } }],
          outputs: [{ name: 'probabilities' }],
        },
        predictorKey,
      );
      assert.equal(res.error, undefined, res.error?.details);
      const rest = await kiln.request('POST', `/v2/models/${ROUTED}/infer`, {
        key: predictorKey,
        body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 3], data: ROWS }] },
      });
      assert.equal(rest.status, 200, rest.text);
      const out = res.response.outputs[0];
      assert.deepEqual([res.response.model_name, res.response.model_version, res.response.id], [ROUTED, '1', 'grpc-1']);
      assert.deepEqual([out.name, out.datatype, out.shape], ['probabilities', 'FP32', [2, 2]]);
      assert.deepEqual(res.response.raw_output_contents, []);
      // fp32_contents carries float32 values; REST prints the same float32 values.
      assert.deepEqual(
        out.contents.fp32_contents.map((v: number) => Math.fround(v)),
        rest.body.outputs[0].data.map((v: number) => Math.fround(v)),
      );

      assert.ok(res.requestId, 'x-request-id metadata');
      const rows = await eventually(async () => {
        const r = await auditRows(res.requestId!);
        return r.length > 0 ? r : undefined;
      });
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would be written by the same batch or the next one
      assert.deepEqual(await auditRows(res.requestId!), rows);
      assert.deepEqual(rows, [{ route: 'oip-grpc', status: 200, model_version: 1, error: null }]);
    });

    it('ModelInfer with raw_input_contents answers raw_output_contents; FP16 raw inputs are read', async () => {
      const f32 = Buffer.alloc(ROWS.length * 4);
      ROWS.forEach((v, i) => f32.writeFloatLE(v, i * 4));
      const raw = await call('ModelInfer', {
        model_name: ROUTED,
        model_version: '1',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 3] }],
        raw_input_contents: [f32],
      });
      assert.equal(raw.error, undefined, raw.error?.details);
      assert.equal(raw.response.outputs[0].contents, undefined);
      const bytes: Buffer = raw.response.raw_output_contents[0];
      assert.equal(bytes.length, 4 * 4);
      const values = [0, 1, 2, 3].map((i) => bytes.readFloatLE(i * 4));
      const typed = await call('ModelInfer', {
        model_name: ROUTED,
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: ROWS } }],
      });
      assert.deepEqual(values, typed.response.outputs[0].contents.fp32_contents);

      // FP16: 1.0 = 0x3c00, 0.5 = 0x3800, -2 = 0xc000 (little-endian).
      const half = Buffer.from([0x00, 0x3c, 0x00, 0x38, 0x00, 0xc0]);
      const fp16 = await call('ModelInfer', {
        model_name: ROUTED,
        inputs: [{ name: 'features', datatype: 'FP16', shape: [1, 3] }],
        raw_input_contents: [half],
      });
      assert.equal(fp16.error, undefined, fp16.error?.details);
      const same = await call('ModelInfer', {
        model_name: ROUTED,
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 0.5, -2] } }],
      });
      const fp16Out = fp16.response.raw_output_contents[0] as Buffer;
      assert.deepEqual([fp16Out.readFloatLE(0), fp16Out.readFloatLE(4)], same.response.outputs[0].contents.fp32_contents);
    });

    it('ModelInfer: bad input → INVALID_ARGUMENT with the REST message; a call that reached the version is audited once', async () => {
      const shape = await call('ModelInfer', {
        model_name: ROUTED,
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
      });
      assert.equal(shape.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(shape.error!.details, /features.*dimension 1 is 4/);
      const rows = await eventually(async () => {
        const r = await auditRows(shape.requestId!);
        return r.length > 0 ? r : undefined;
      });
      assert.equal(rows.length, 1);
      assert.deepEqual([rows[0].route, rows[0].status], ['oip-grpc', 400]);

      const cases: Array<[unknown, RegExp]> = [
        [
          { model_name: ROUTED, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2] } }] },
          /inputs\[0\]\.data: 2 elements for shape \[1, 3\]/,
        ],
        [
          { model_name: ROUTED, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], contents: { int_contents: [1, 2, 3] } }] },
          /inputs\[0\]\.contents: datatype FP32 is carried in fp32_contents, not int_contents/,
        ],
        [
          { model_name: ROUTED, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3] }], raw_input_contents: [Buffer.alloc(8)] },
          /raw_input_contents\[0\]: 8 bytes for shape \[1, 3\] of FP32, which needs 12/,
        ],
        [
          { model_name: ROUTED, inputs: [{ name: 'features', datatype: 'FP16', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] },
          /FP16 has no contents field/,
        ],
        [{ model_name: ROUTED, inputs: [] }, /^inputs: must be a non-empty list/],
        [{ inputs: [] }, /^model_name: required/],
      ];
      for (const [request, message] of cases) {
        const res = await call('ModelInfer', request);
        assert.equal(res.error?.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(request));
        assert.match(res.error!.details, message);
      }
      assert.equal((await call('ModelInfer', { model_name: 'no-such-model', inputs: [] })).error?.code, grpc.status.NOT_FOUND);
      assert.equal((await call('ModelInfer', { model_name: ROUTED, inputs: [] }, auditorKey)).error?.code, grpc.status.PERMISSION_DENIED);
    });

    it('ModelInfer refused before the runtime (unknown model, codec, auth) is audited exactly once with its status', async () => {
      const refused: Array<[unknown, string | null, number]> = [
        [{ model_name: 'no-such-model', inputs: [] }, kiln.adminKey, 404],
        [
          { model_name: ROUTED, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], contents: { int_contents: [1, 2, 3] } }] },
          kiln.adminKey,
          400,
        ],
        [{ model_name: ROUTED, inputs: [] }, auditorKey, 403],
        [{ model_name: ROUTED, inputs: [] }, null, 401],
      ];
      for (const [request, key, status] of refused) {
        const res = await call('ModelInfer', request, key);
        assert.ok(res.error && res.requestId, JSON.stringify(request));
        await eventually(async () => ((await auditRows(res.requestId!)).length > 0 ? true : undefined));
        await new Promise((r) => setTimeout(r, 300)); // a duplicate would be written by the same batch or the next one
        const rows = await auditRows(res.requestId!);
        assert.equal(rows.length, 1, `${status}: ${JSON.stringify(rows)}`);
        assert.deepEqual([rows[0].route, rows[0].status, rows[0].model_version], ['oip-grpc', status, null]);
        assert.equal(rows[0].error, res.error!.details);
      }
    });

    it('BYTES over ModelInfer: 4-byte length-prefixed raw_input_contents and bytes_contents; any octets intact', async () => {
      const words = [Buffer.from('cat'), Buffer.from('héllo wörld'), Buffer.from([0xff, 0x00, 0x80]), Buffer.alloc(0)];
      const raw = await call('ModelInfer', {
        model_name: TEXT,
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [4] }],
        outputs: [{ name: 'text_out' }],
        raw_input_contents: [lengthPrefixed(words)],
      });
      assert.equal(raw.error, undefined, raw.error?.details);
      assert.deepEqual(
        raw.response.outputs.map((o: any) => [o.name, o.datatype, o.shape]),
        [['text_out', 'BYTES', [4]]],
      );
      assert.deepEqual(raw.response.raw_output_contents, [lengthPrefixed(words)]);

      const typed = await call('ModelInfer', {
        model_name: TEXT,
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [4], contents: { bytes_contents: words } }],
        outputs: [{ name: 'text_out' }],
      });
      assert.equal(typed.error, undefined, typed.error?.details);
      assert.deepEqual(typed.response.outputs[0].contents.bytes_contents, words);

      const cases: Array<[Buffer, RegExp]> = [
        [lengthPrefixed(words).subarray(0, 13), /^raw_input_contents\[0\]\[1\]: BYTES element of 13 bytes runs past/],
        [Buffer.from([1, 0]), /^raw_input_contents\[0\]\[0\]: truncated BYTES element/],
        [lengthPrefixed(words.slice(0, 3)), /^raw_input_contents\[0\]: 3 BYTES elements for shape \[4\], which needs 4$/],
      ];
      for (const [bytes, message] of cases) {
        const res = await call('ModelInfer', {
          model_name: TEXT,
          inputs: [{ name: 'text', datatype: 'BYTES', shape: [4] }],
          raw_input_contents: [bytes],
        });
        assert.equal(res.error?.code, grpc.status.INVALID_ARGUMENT);
        assert.match(res.error!.details, message);
      }
    });

    it("ModelStreamInfer (Triton's bidirectional stream): in request order, errors in-stream, each request audited once", async () => {
      const stream = (triton as unknown as StreamClient).ModelStreamInfer(metadataWith(predictorKey));
      const answers: any[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        stream.on('data', (a: any) => answers.push(a));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      const a = Array.from({ length: 16 }, (_, i) => i);
      const b = Array.from({ length: 16 }, () => 1);
      stream.write(simpleRequest('s-1', a, b));
      stream.write({ ...simpleRequest('s-bad', [1, 2, 3], [4, 5, 6]) });
      stream.write(simpleRequest('s-3', b, a, { triton_enable_empty_final_response: { bool_param: true } }));
      stream.write({ model_name: 'no-such-model', id: 's-unknown', inputs: [] });
      stream.end();
      await ended;

      assert.equal(answers.length, 4);
      const [first, bad, third, unknown] = answers;
      assert.equal(first.error_message, '');
      assert.deepEqual([first.infer_response.model_name, first.infer_response.id], [SIMPLE, 's-1']);
      assert.deepEqual(first.infer_response.raw_output_contents.map(int32s), [a.map((v) => v + 1), a.map((v) => v - 1)]);
      assert.equal(first.infer_response.parameters.triton_final_response, undefined);
      assert.equal(bad.infer_response, undefined);
      assert.match(bad.error_message, /INPUT0.*dimension 1 is 3/);
      assert.equal(third.infer_response.id, 's-3');
      assert.deepEqual(
        third.infer_response.raw_output_contents.map(int32s)[0],
        a.map((v) => v + 1),
      );
      assert.deepEqual(third.infer_response.parameters.triton_final_response, { bool_param: true, parameter_choice: 'bool_param' });
      assert.match(unknown.error_message, /no-such-model/);

      // Each request has its own audit record, keyed by the request id the response carries.
      const id = (r: any) => r.infer_response.parameters.kiln_request_id.string_param as string;
      for (const [requestId, status] of [
        [id(first), 200],
        [id(third), 200],
      ] as const) {
        const rows = await eventually(async () => {
          const r = await auditRows(requestId);
          return r.length > 0 ? r : undefined;
        });
        assert.deepEqual(rows, [{ route: 'oip-grpc', status, model_version: 1, error: null }]);
      }
      // The log is chained off the request path: wait until both refusals' records are in it.
      const failed = await eventually(async () => {
        const rows = (
          await pg.query(
            "SELECT status, error FROM audit_predictions WHERE route = 'oip-grpc' AND client_request_id = ANY($1) ORDER BY status",
            [['s-bad', 's-unknown']],
          )
        ).rows;
        return rows.length >= 2 ? rows : undefined;
      });
      assert.deepEqual(
        failed.map((r) => [r.status, r.error]),
        [
          [400, bad.error_message],
          [404, unknown.error_message],
        ],
      );

      // Auth is checked once per stream: no key → the stream ends UNAUTHENTICATED.
      const refused = (triton as unknown as StreamClient).ModelStreamInfer(new grpc.Metadata());
      const status = await new Promise<grpc.ServiceError>((resolve) => {
        refused.on('data', () => undefined);
        refused.on('error', resolve);
        refused.write(simpleRequest('s-no-key', a, b));
      });
      assert.equal(status.code, grpc.status.UNAUTHENTICATED);
    });

    it('RepositoryModelLoad and RepositoryModelUnload act like the REST repository extension', async () => {
      assert.equal((await call('RepositoryModelLoad', { model_name: LOOSE }, predictorKey)).error?.code, grpc.status.PERMISSION_DENIED);
      const load = await call('RepositoryModelLoad', { model_name: LOOSE });
      assert.deepEqual(load.response, { model_name: LOOSE, isLoaded: true });
      assert.deepEqual((await call('ModelReady', { name: LOOSE })).response, { ready: true });
      const unload = await call('RepositoryModelUnload', { model_name: LOOSE });
      assert.deepEqual(unload.response, { model_name: LOOSE, isUnloaded: true });
      assert.deepEqual((await call('ModelReady', { name: LOOSE })).response, { ready: false });
      const routed = await call('RepositoryModelUnload', { model_name: ROUTED });
      assert.equal(routed.error?.code, grpc.status.FAILED_PRECONDITION);
      assert.match(routed.error!.details, /routed by its aliases/);
      assert.equal((await call('RepositoryModelLoad', { model_name: 'no-such-model' })).error?.code, grpc.status.NOT_FOUND);
    });

    it("Triton's ModelStatistics, ModelConfig, RepositoryIndex and its RepositoryModelLoad/Unload, from Triton's proto", async () => {
      const stats = await call('ModelStatistics', { name: ROUTED, version: '1' }, predictorKey, triton);
      assert.equal(stats.error, undefined, stats.error?.details);
      const rest = await kiln.request('GET', `/v2/models/${ROUTED}/versions/1/stats`, { key: predictorKey });
      const [g, r] = [stats.response.model_stats[0], rest.body.model_stats[0]];
      assert.deepEqual([g.name, g.version], [ROUTED, '1']);
      assert.ok(g.inference_count >= 1 && g.inference_count === r.inference_count, `${g.inference_count} vs ${r.inference_count}`);
      assert.equal(g.execution_count, r.execution_count);
      assert.equal(g.inference_stats.success.count, r.inference_stats.success.count);
      assert.deepEqual(
        g.batch_stats.map((b: any) => b.batch_size),
        r.batch_stats.map((b: any) => b.batch_size),
      );
      assert.ok((await call('ModelStatistics', {}, auditorKey, triton)).response.model_stats.some((m: any) => m.name === ROUTED));
      assert.equal((await call('ModelStatistics', { name: 'no-such-model' }, predictorKey, triton)).error?.code, grpc.status.NOT_FOUND);

      const config = await call('ModelConfig', { name: ROUTED }, predictorKey, triton);
      assert.equal(config.error, undefined, config.error?.details);
      const restConfig = await kiln.request('GET', `/v2/models/${ROUTED}/config`, { key: predictorKey });
      const c = config.response.config;
      assert.deepEqual(
        [c.name, c.platform, c.max_batch_size, c.input[0].name, c.input[0].data_type, c.input[0].dims],
        [ROUTED, 'tensorflowjs_layers', restConfig.body.max_batch_size, 'features', 'TYPE_FP32', [3]],
      );
      assert.deepEqual(c.version_policy, { specific: { versions: [1] }, policy_choice: 'specific' });

      const index = await call('RepositoryIndex', { ready: true }, predictorKey, triton);
      assert.deepEqual(
        index.response.models.filter((m: any) => m.name === ROUTED),
        [{ name: ROUTED, version: '1', state: 'READY', reason: '' }],
      );
      const repo = await call('RepositoryIndex', { repository_name: 'models' }, predictorKey, triton);
      assert.equal(repo.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(repo.error!.details, /'repository_name' specification is not supported/);

      // tritonclient's load: model_name is field 2 in Triton's message, the config override a string parameter.
      const load = await call(
        'RepositoryModelLoad',
        { model_name: LOOSE, parameters: { config: { string_param: '{"max_batch_size": 4}' } } },
        kiln.adminKey,
        triton,
      );
      assert.equal(load.error, undefined, load.error?.details);
      assert.deepEqual((await call('ModelReady', { name: LOOSE })).response, { ready: true });
      assert.equal((await call('ModelConfig', { name: LOOSE }, predictorKey, triton)).response.config.max_batch_size, 4);
      const bad = await call(
        'RepositoryModelLoad',
        { model_name: LOOSE, parameters: { config: { string_param: '{"input": []}' } } },
        kiln.adminKey,
        triton,
      );
      assert.equal(bad.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(bad.error!.details, /^failed to load .*parameters\.config\.input/);
      assert.equal((await call('RepositoryModelUnload', { model_name: LOOSE }, kiln.adminKey, triton)).error, undefined);
      assert.deepEqual((await call('ModelReady', { name: LOOSE })).response, { ready: false });
    });
  });
}

void main();
