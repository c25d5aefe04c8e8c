/**
 * Triton's trace extension end to end on PostgreSQL, replaying `qa/L0_trace/trace_endpoint_test.py`
 * of triton-inference-server/server (get, update, clear; HTTP and gRPC) with Kiln's starting settings
 * in place of that test's command line (`trace_file` empty, level OFF, rate 1000, count -1), the
 * refusals of Triton's HTTP handler (src/http_server.cc `HandleTrace`), and what tracing does in
 * Kiln: sampled OIP calls become `inference trace` records with Triton's timestamp names, one per
 * `trace_rate` calls, at most `trace_count`, with tensors at level TENSORS; every change is one admin event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferenceTracer } from '../../src/inference/inference-tracer';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { importGraphModel } from '../models/model-import-helpers';
import { servingReady, tritonGrpcClient, type TritonGrpcClient } from './triton-test-client';
import { SIMPLE_SIGNATURE, simpleAddSubGraphModel } from '../support/tfjs/graph-model-fixture';

const SIMPLE = 'simple';

/** Kiln's settings before any update (Triton's test starts its server with its own). */
const INITIAL = {
  trace_file: '',
  trace_level: ['OFF'],
  trace_rate: '1000',
  trace_count: '-1',
  log_frequency: '0',
  trace_mode: 'triton',
};

const CLEAR = { trace_level: null, trace_rate: null, trace_count: null, log_frequency: null };

/** gRPC's TraceSettingResponse.settings of a REST view. */
function grpcView(view: Record<string, string | string[]>): Record<string, { value: string[] }> {
  return Object.fromEntries(Object.entries(view).map(([k, v]) => [k, { value: Array.isArray(v) ? v : [v] }]));
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('trace extension on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let triton: TritonGrpcClient;
    let predictorKey: string;
    const get = (model?: string) => kiln.request('GET', model ? `/v2/models/${model}/trace/setting` : '/v2/trace/setting');
    const update = (body: unknown, model?: string, key?: string) =>
      kiln.request('POST', model ? `/v2/models/${model}/trace/setting` : '/v2/trace/setting', { body, ...(key ? { key } : {}) });
    const ok = async (p: ReturnType<typeof get>) => {
      const r = await p;
      assert.equal(r.status, 200, r.text);
      return r.body;
    };
    const simpleInput = {
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, (_, i) => i) },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, () => 1) },
      ],
    };

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres', { KILN_GRPC_PORT: '0' });
      await importGraphModel(kiln, SIMPLE, simpleAddSubGraphModel(), SIMPLE_SIGNATURE);
      predictorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'predictor', role: 'predictor' } })).body.key;
      triton = tritonGrpcClient(kiln);
      await servingReady(kiln);
    });
    after(async () => {
      triton?.close();
      await kiln?.close();
    });
    const reset = async () => {
      await ok(update(CLEAR, SIMPLE));
      await ok(update(CLEAR));
    };

    it('GET /v2 lists trace; test_http_get_settings: the model follows the global settings; unknown model → 400', async () => {
      assert.ok((await kiln.request('GET', '/v2')).body.extensions.includes('trace'));
      assert.deepEqual(await ok(get(SIMPLE)), INITIAL);
      assert.deepEqual(await ok(get()), INITIAL);
      const unknown = await get('does-not-exist');
      assert.equal(unknown.status, 400);
      assert.deepEqual(unknown.body, { error: 'Request for unknown model : does-not-exist' });
      assert.equal((await get(SIMPLE)).headers.get('content-type'), 'application/json');
    });

    it('test_http_update_settings: trace_file cannot be set; a global update shows in the model that does not set it', async () => {
      const file = await update({ trace_file: 'model.log' }, SIMPLE);
      assert.equal(file.status, 400);
      assert.deepEqual(file.body, { error: 'trace file location can not be updated through network protocol' });
      assert.deepEqual(await ok(get(SIMPLE)), INITIAL, 'the refused update changed nothing');
      const both = { ...INITIAL, trace_level: ['TIMESTAMPS', 'TENSORS'] };
      assert.deepEqual(await ok(update({ trace_level: ['TIMESTAMPS', 'TENSORS'] })), both);
      assert.deepEqual(await ok(get(SIMPLE)), both);
      const unknown = await update({ trace_file: 'model.log' }, 'does-not-exist');
      assert.deepEqual([unknown.status, unknown.body.error], [400, 'Request for unknown model : does-not-exist']);
      await reset();
    });

    it('test_http_clear_settings: null clears; a model falls back to the global value, the global one to the default', async () => {
      await ok(update({ trace_rate: '12', log_frequency: '34' }, SIMPLE));
      await ok(update({ trace_rate: '56', trace_count: '78', trace_level: ['OFF'] }));
      const global = { ...INITIAL, trace_level: ['OFF'] };
      assert.deepEqual(await ok(update({ trace_rate: null, trace_count: null })), global);
      assert.deepEqual(await ok(get(SIMPLE)), { ...global, trace_rate: '12', log_frequency: '34' });
      assert.deepEqual(await ok(update({ trace_rate: null, trace_level: null }, SIMPLE)), { ...global, log_frequency: '34' });
      assert.deepEqual(await ok(get()), global);
      await reset();
      assert.deepEqual(await ok(get(SIMPLE)), INITIAL);
    });

    it("refuses what Triton's handler refuses (its texts), unknown names and levels, and callers without developer", async () => {
      for (const [body, error] of [
        [{ trace_level: ['OFF', 'TIMESTAMPS'] }, "Expect only one trace level 'OFF' is specified"],
        [{ trace_rate: 'often' }, "Unable to parse 'trace_rate', got: often"],
        [{ trace_rate: '0' }, "Unable to parse 'trace_rate': sample rate must be non-zero"],
        [{ trace_rate: '4294967296' }, "Unable to parse 'trace_rate', value is out of range [ 0, 4294967295 ], got: 4294967296"],
        [{ trace_count: '-2' }, "Unable to parse 'trace_count'. Expecting value >= -1, got:-2"],
        [{ log_frequency: '-1' }, "Unable to parse 'log_frequency', value is out of range [ 0, 4294967295 ], got: -1"],
        [{ trace_level: ['VERBOSE'] }, /^Unable to parse 'trace_level': unknown level "VERBOSE"/],
        [{ trace_speed: '1' }, /^'trace_speed': unknown trace setting/],
        [[1], /^body: must be a JSON object/],
      ] as const) {
        const r = await update(body);
        assert.equal(r.status, 400, JSON.stringify(body));
        if (typeof error === 'string') assert.equal(r.body.error, error);
        else assert.match(r.body.error, error);
      }
      assert.equal((await update({ trace_rate: '5' }, undefined, predictorKey)).status, 403);
      assert.equal((await kiln.request('GET', '/v2/trace/setting', { key: predictorKey })).status, 200);
      assert.deepEqual(await ok(get()), INITIAL, 'nothing refused changed anything');
    });

    it('gRPC TraceSetting: read, update, clear (test_grpc_get/update/clear_settings), unknown model refused', async () => {
      const call = (request: unknown) => triton.call('TraceSetting', request);
      assert.deepEqual((await call({ model_name: SIMPLE })).response.settings, grpcView(INITIAL));
      assert.deepEqual((await call({})).response.settings, grpcView(INITIAL));
      const updated = await call({ settings: { trace_level: { value: ['TIMESTAMPS', 'TENSORS'] } } });
      assert.deepEqual(updated.response.settings, grpcView({ ...INITIAL, trace_level: ['TIMESTAMPS', 'TENSORS'] }));
      assert.deepEqual(
        (await call({ model_name: SIMPLE })).response.settings,
        grpcView({ ...INITIAL, trace_level: ['TIMESTAMPS', 'TENSORS'] }),
      );
      await call({ model_name: SIMPLE, settings: { trace_rate: { value: ['12'] }, log_frequency: { value: ['34'] } } });
      const cleared = await call({ model_name: SIMPLE, settings: { trace_rate: {}, trace_level: {} } });
      assert.deepEqual(cleared.response.settings, grpcView({ ...INITIAL, trace_level: ['TIMESTAMPS', 'TENSORS'], log_frequency: '34' }));
      const unknown = await call({ model_name: 'does-not-exist' });
      assert.equal(unknown.error?.code, 3); // INVALID_ARGUMENT, Triton's
      assert.equal(unknown.error?.details, 'Request for unknown model : does-not-exist');
      await reset();
    });

    it('traces one call in trace_rate, at most trace_count, with timestamps (and tensors at TENSORS), REST and gRPC', async () => {
      const lines: any[] = [];
      const stop = kiln.app.get(InferenceTracer).observe((line) => lines.push(line));
      try {
        for (let i = 0; i < 3; i++)
          assert.equal((await kiln.request('POST', `/v2/models/${SIMPLE}/infer`, { body: simpleInput })).status, 200);
        assert.equal(lines.length, 0, 'level OFF: no trace');
        await ok(update({ trace_level: ['TIMESTAMPS'], trace_rate: '2', trace_count: '2' }, SIMPLE));
        const ids: string[] = [];
        for (let i = 0; i < 6; i++) {
          const r = await kiln.request('POST', `/v2/models/${SIMPLE}/infer`, { body: simpleInput });
          assert.equal(r.status, 200, r.text);
          ids.push(r.headers.get('x-request-id')!);
        }
        // calls 2 and 4 are sampled; then the count is spent
        assert.deepEqual(
          lines.map((l) => l.trace.request_id),
          [ids[1], ids[3]],
        );
        const trace = lines[0].trace;
        assert.deepEqual(
          trace.timestamps.map((t: { name: string }) => t.name),
          ['HTTP_RECV_START', 'REQUEST_START', 'COMPUTE_START', 'COMPUTE_END', 'REQUEST_END'],
        );
        const ns = trace.timestamps.map((t: { ns: number }) => t.ns);
        assert.deepEqual(
          ns,
          [...ns].sort((a: number, b: number) => a - b),
          'in order',
        );
        assert.ok(Math.abs(ns[0] / 1e6 - Date.now()) < 60_000, 'ns since the epoch');
        assert.deepEqual([trace.model_name, trace.model_version, trace.protocol, trace.status], [SIMPLE, 1, 'oip', 200]);
        assert.equal(trace.inputs, undefined, 'no tensors at TIMESTAMPS');
        assert.equal((await ok(get(SIMPLE))).trace_count, '0', 'the count left');

        lines.length = 0;
        await ok(update({ trace_level: ['TENSORS'], trace_rate: '1', trace_count: '-1' }, SIMPLE));
        const res = await triton.call('ModelInfer', {
          model_name: SIMPLE,
          inputs: simpleInput.inputs.map((t) => ({
            name: t.name,
            datatype: t.datatype,
            shape: t.shape,
            contents: { int_contents: t.data },
          })),
        });
        assert.equal(res.error, undefined, res.error?.details);
        await eventually(async () => (lines.length === 1 ? true : undefined));
        const g = lines[0].trace;
        assert.equal(g.protocol, 'oip-grpc');
        assert.equal(g.timestamps[0].name, 'GRPC_WAITREAD_END');
        assert.deepEqual(
          g.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data.slice(0, 3)]),
          [
            ['OUTPUT0', [1, 2, 3]],
            ['OUTPUT1', [-1, 0, 1]],
          ],
        );
        assert.equal(g.inputs[0].name, 'INPUT0');

        // a refused call is traced with its status
        lines.length = 0;
        const bad = await kiln.request('POST', `/v2/models/${SIMPLE}/infer`, {
          body: { inputs: [{ ...simpleInput.inputs[0], shape: [1, 15] }, simpleInput.inputs[1]] },
        });
        assert.equal(bad.status, 400);
        assert.deepEqual(
          lines.map((l) => [l.trace.request_id, l.trace.status]),
          [[bad.headers.get('x-request-id'), 400]],
        );

        // log_frequency 2: two traces to one line
        lines.length = 0;
        await ok(update({ trace_level: ['TIMESTAMPS'], log_frequency: '2' }, SIMPLE));
        for (let i = 0; i < 3; i++) await kiln.request('POST', `/v2/models/${SIMPLE}/infer`, { body: simpleInput });
        assert.deepEqual(
          lines.map((l) => l.traces?.length),
          [2],
        );
      } finally {
        stop();
        await reset();
      }
    });

    it('every update that changes a setting is one trace-settings.changed event; no-ops and refusals none', async () => {
      const changed = await update({ trace_rate: '77' }, SIMPLE);
      const same = await update({ trace_rate: '77' }, SIMPLE);
      const refused = await update({ trace_rate: 'x' }, SIMPLE);
      assert.deepEqual([changed.status, same.status, refused.status], [200, 200, 400]);
      const events = async () =>
        (await kiln.request('GET', '/api/audit/events?action=trace-settings.changed&limit=200')).body.items as any[];
      const mine = (e: { requestId: string }) => e.requestId === changed.headers.get('x-request-id');
      // the chainer writes the chain off the request path
      await eventually(async () => ((await events()).some(mine) ? true : undefined), 30_000, 100);
      await new Promise((r) => setTimeout(r, 1500)); // a duplicate or a late no-op event would be in by now
      const items = await events();
      const ids = items.map((e) => e.requestId);
      assert.equal(ids.filter((id) => id === changed.headers.get('x-request-id')).length, 1);
      assert.equal(ids.filter((id) => id === same.headers.get('x-request-id') || id === refused.headers.get('x-request-id')).length, 0);
      const event = items.find(mine);
      assert.deepEqual([event.target.model, event.before.trace_rate, event.after.trace_rate], [SIMPLE, '1000', '77']);
      await reset();
    });
  });
}

void main();
