/**
 * Triton's system shared memory extension end to end on PostgreSQL, replaying what tritonclient's
 * `simple_http_shm_client.py` and `simple_grpc_shm_client.py` do against Triton's `simple` model:
 * create two POSIX shared memory objects (files under /dev/shm), register them as regions, infer with
 * INPUT0/INPUT1 read from one region and OUTPUT0/OUTPUT1 written into the other, read the sums and
 * differences back from the object, unregister. Plus the refusals (Triton's messages), the audit of
 * every answered call, CUDA shared memory answered as a server without GPUs, and the gRPC RPCs with
 * a client generated from Triton's proto.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { auditRecord, chainedAuditRecord } from '../utils/audit-lookup';
import { importGraphModel } from '../models/model-import-helpers';
import { servingReady, tritonGrpcClient, type TritonGrpcClient } from './triton-test-client';
import { SIMPLE_SIGNATURE, simpleAddSubGraphModel } from '../support/tfjs/graph-model-fixture';

const SIMPLE = 'simple';
const BYTES = 64; // one [1, 16] int32 tensor

function int32s(bytes: Buffer): number[] {
  return Array.from(new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
}

function int32Bytes(values: number[]): Buffer {
  return Buffer.from(new Int32Array(values).buffer);
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('system shared memory on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let triton: TritonGrpcClient;
    let predictorKey: string;
    const tag = `kiln-test-${randomBytes(6).toString('hex')}`;
    const inKey = `/${tag}-in`;
    const outKey = `/${tag}-out`;
    const objects = [`/dev/shm${inKey}`, `/dev/shm${outKey}`, `/dev/shm/${tag}-link`];
    const a = Array.from({ length: 16 }, (_, i) => i);
    const b = Array.from({ length: 16 }, () => 1);

    const shmInput = (name: string, region: string, offset: number, byteSize = BYTES) => ({
      name,
      shape: [1, 16],
      datatype: 'INT32',
      parameters: { shared_memory_region: region, shared_memory_byte_size: byteSize, ...(offset ? { shared_memory_offset: offset } : {}) },
    });
    const shmOutput = (name: string, region: string, offset: number, byteSize = BYTES) => ({
      name,
      parameters: { shared_memory_region: region, shared_memory_byte_size: byteSize, ...(offset ? { shared_memory_offset: offset } : {}) },
    });
    /** OUTPUT0 (sums) then OUTPUT1 (differences) in the output object, as the examples read them back. */
    const assertSumsAndDifferencesWritten = () => {
      const out = readFileSync(objects[1]!);
      assert.deepEqual(
        int32s(out.subarray(0, BYTES)),
        a.map((x, i) => x + b[i]!),
      );
      assert.deepEqual(
        int32s(out.subarray(BYTES)),
        a.map((x, i) => x - b[i]!),
      );
    };
    const infer = (body: object, key?: string) => kiln.request('POST', `/v2/models/${SIMPLE}/infer`, { body, ...(key ? { key } : {}) });
    const call = <T = any>(method: string, request: unknown) => triton.call<T>(method, request);

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres', { KILN_GRPC_PORT: '0' });
      await importGraphModel(kiln, SIMPLE, simpleAddSubGraphModel(), SIMPLE_SIGNATURE);
      predictorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'predictor', role: 'predictor' } })).body.key;
      // What shm.create_shared_memory_region + set_shared_memory_region do: INPUT0 then INPUT1 in one object.
      writeFileSync(objects[0]!, Buffer.concat([int32Bytes(a), int32Bytes(b)]));
      writeFileSync(objects[1]!, Buffer.alloc(2 * BYTES));
      triton = tritonGrpcClient(kiln);
      await servingReady(kiln);
    });
    after(async () => {
      triton?.close();
      await kiln?.close();
      for (const f of objects) rmSync(f, { force: true });
    });

    it('GET /v2 lists system_shared_memory; tritonclient.http registers, infers through shared memory and unregisters', async () => {
      const meta = await kiln.request('GET', '/v2', { key: null });
      assert.ok(meta.body.extensions.includes('system_shared_memory'), meta.text);
      // the example starts with unregister-all of both kinds
      assert.equal((await kiln.request('POST', '/v2/systemsharedmemory/unregister')).status, 200);
      assert.equal((await kiln.request('POST', '/v2/cudasharedmemory/unregister')).status, 200);
      for (const [name, key] of [
        ['output_data', outKey],
        ['input_data', inKey],
      ] as const) {
        const r = await kiln.request('POST', `/v2/systemsharedmemory/region/${name}/register`, {
          body: { key, offset: 0, byte_size: 2 * BYTES },
        });
        assert.equal(r.status, 200, r.text);
      }
      const res = await infer({
        inputs: [shmInput('INPUT0', 'input_data', 0), shmInput('INPUT1', 'input_data', BYTES)],
        outputs: [shmOutput('OUTPUT0', 'output_data', 0), shmOutput('OUTPUT1', 'output_data', BYTES)],
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.outputs, [
        {
          name: 'OUTPUT0',
          datatype: 'INT32',
          shape: [1, 16],
          parameters: { shared_memory_region: 'output_data', shared_memory_byte_size: BYTES },
        },
        {
          name: 'OUTPUT1',
          datatype: 'INT32',
          shape: [1, 16],
          parameters: { shared_memory_region: 'output_data', shared_memory_byte_size: BYTES, shared_memory_offset: BYTES },
        },
      ]);
      assertSumsAndDifferencesWritten();
      const record = await auditRecord(kiln, res.headers.get('x-request-id')!);
      assert.deepEqual([record.route, record.status, record.rows], ['oip', 200, 1]);
      assert.deepEqual(record.inputs[0].data, a, 'the audit keeps the inputs read from shared memory');

      const status = await kiln.request('GET', '/v2/systemsharedmemory/status');
      assert.deepEqual(status.body, [
        { name: 'output_data', key: outKey, offset: 0, byte_size: 2 * BYTES },
        { name: 'input_data', key: inKey, offset: 0, byte_size: 2 * BYTES },
      ]);
      const one = await kiln.request('GET', '/v2/systemsharedmemory/region/input_data/status');
      assert.deepEqual(one.body, [{ name: 'input_data', key: inKey, offset: 0, byte_size: 2 * BYTES }]);
      assert.equal((await kiln.request('POST', '/v2/systemsharedmemory/region/input_data/unregister')).status, 200);
      const gone = await kiln.request('GET', '/v2/systemsharedmemory/region/input_data/status');
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.body, { error: "Unable to find system shared memory region: 'input_data'" });
      assert.equal((await kiln.request('POST', '/v2/systemsharedmemory/unregister')).status, 200);
      assert.deepEqual((await kiln.request('GET', '/v2/systemsharedmemory/status')).body, []);
    });

    it('refuses keys outside /dev/shm, missing objects, ranges past the object, names in use, and callers without the role', async () => {
      const register = (name: string, body: object, key?: string) =>
        kiln.request('POST', `/v2/systemsharedmemory/region/${name}/register`, { body, ...(key ? { key } : {}) });
      const cases: Array<[object, RegExp]> = [
        [{ key: '../../etc/passwd', byte_size: 4 }, /^key: '..\/..\/etc\/passwd' is not a shared memory object name/],
        [{ key: '/a/b', byte_size: 4 }, /is not a shared memory object name/],
        [{ key: `/${tag}-missing`, byte_size: 4 }, /^Unable to open shared memory region: '\/kiln-test-/],
        [{ key: `/${tag}-link`, byte_size: 4 }, /^Unable to open shared memory region/],
        [{ key: inKey, byte_size: 2 * BYTES + 1 }, /^failed to register shared memory region 'r': invalid args/],
        [{ key: inKey, offset: 8, byte_size: 2 * BYTES }, /invalid args/],
        [{ key: inKey, byte_size: -1 }, /^byte_size: required, a non-negative integer/],
        [{ key: inKey }, /^byte_size: required/],
        [{ byte_size: 4 }, /^key: required/],
      ];
      symlinkSync('/etc/hostname', objects[2]!);
      for (const [body, pattern] of cases) {
        const r = await register('r', body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.match(r.body.error, pattern, JSON.stringify(body));
      }
      assert.equal((await register('r', { key: inKey, byte_size: BYTES })).status, 200);
      const twice = await register('r', { key: inKey, byte_size: BYTES });
      assert.deepEqual([twice.status, twice.body], [400, { error: "shared memory region 'r' already in manager" }]);
      const predictor = await register('p', { key: inKey, byte_size: BYTES }, predictorKey);
      assert.equal(predictor.status, 403, predictor.text);
      assert.equal((await kiln.request('GET', '/v2/systemsharedmemory/status', { key: predictorKey })).status, 200);
      assert.equal((await kiln.request('POST', '/v2/systemsharedmemory/unregister', { key: predictorKey })).status, 403);
      assert.equal((await kiln.request('POST', '/v2/systemsharedmemory/unregister')).status, 200);
    });

    it('refuses inference ranges past a region, unknown regions, mixed data and outputs too small, each audited once', async () => {
      await kiln.request('POST', '/v2/systemsharedmemory/region/in/register', { body: { key: inKey, byte_size: 2 * BYTES } });
      await kiln.request('POST', '/v2/systemsharedmemory/region/out/register', { body: { key: outKey, byte_size: 2 * BYTES } });
      const good = [shmInput('INPUT0', 'in', 0), shmInput('INPUT1', 'in', BYTES)];
      const cases: Array<[string, object, RegExp]> = [
        [
          'past the region',
          { inputs: [shmInput('INPUT0', 'in', BYTES + 4), shmInput('INPUT1', 'in', 0)] },
          /^Invalid offset \+ byte size for shared memory region: 'in'$/,
        ],
        ['unknown region', { inputs: [shmInput('INPUT0', 'nope', 0), good[1]] }, /^Unable to find shared memory region: 'nope'$/],
        [
          'data as well',
          { inputs: [{ ...shmInput('INPUT0', 'in', 0), data: a }, good[1]] },
          /^inputs\[0\]: Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But set 'data' 'shared_memory_region'$/,
        ],
        [
          'byte size for another shape',
          { inputs: [shmInput('INPUT0', 'in', 0, 60), good[1]] },
          /^inputs\[0\]\.parameters\.shared_memory_byte_size: unexpected total byte size 60 for input 'INPUT0', expecting 64$/,
        ],
        [
          'output too small',
          { inputs: good, outputs: [shmOutput('OUTPUT0', 'out', 0, 32)] },
          /^shared memory size specified with the request for output 'OUTPUT0' \(32 bytes\) should be at least 64 bytes to hold the results$/,
        ],
        [
          'output also binary',
          { inputs: good, outputs: [{ name: 'OUTPUT0', parameters: { ...shmOutput('OUTPUT0', 'out', 0).parameters, binary_data: true } }] },
          /^outputs\[0\]: Output can't set both 'shared_memory_region' and 'binary_data'$/,
        ],
      ];
      for (const [why, body, pattern] of cases) {
        const res = await infer(body);
        assert.equal(res.status, 400, `${why}: ${res.text}`);
        assert.match(res.body.error, pattern, why);
        // chained: the listing below must hold every one of these calls
        const record = await chainedAuditRecord(kiln, res.headers.get('x-request-id')!);
        assert.deepEqual([record.route, record.status, record.error], ['oip', 400, res.body.error], why);
      }
      const listed = await kiln.request('GET', '/api/audit/predictions?limit=500');
      const ids = (listed.body.items ?? listed.body).map((r: { requestId: string }) => r.requestId);
      assert.equal(ids.length, new Set(ids).size, 'no call audited twice');
      await kiln.request('POST', '/v2/systemsharedmemory/unregister');
    });

    it('CUDA shared memory: register is a clear 400, the status is empty, unregister has nothing to do', async () => {
      const reg = await kiln.request('POST', '/v2/cudasharedmemory/region/c/register', {
        body: { raw_handle: { b64: '' }, device_id: 0, byte_size: 4 },
      });
      assert.equal(reg.status, 400, reg.text);
      assert.match(reg.body.error, /CUDA shared memory is not supported/);
      assert.deepEqual((await kiln.request('GET', '/v2/cudasharedmemory/status')).body, []);
      assert.equal((await kiln.request('GET', '/v2/cudasharedmemory/region/c/status')).status, 404);
      assert.equal((await kiln.request('POST', '/v2/cudasharedmemory/region/c/unregister')).status, 200);
    });

    it('audits each register and unregister that changes something once (REST and gRPC); refusals and no-ops leave none', async () => {
      const sent = new Map<string, string>(); // REST request id → action
      const rest = async (path: string, status: number, action: string | null, body?: object) => {
        const r = await kiln.request('POST', path, body ? { body } : {});
        assert.equal(r.status, status, r.text);
        if (action) sent.set(r.headers.get('x-request-id')!, action);
      };
      await rest('/v2/systemsharedmemory/region/audited-rest/register', 200, 'shared-memory.registered', { key: inKey, byte_size: BYTES });
      await rest('/v2/systemsharedmemory/region/audited-rest/register', 400, null, { key: inKey, byte_size: BYTES }); // in use
      await rest('/v2/systemsharedmemory/region/audited-bad/register', 400, null, { key: '/no-such-object', byte_size: 4 });
      await rest('/v2/systemsharedmemory/region/audited-rest/unregister', 200, 'shared-memory.unregistered');
      await rest('/v2/systemsharedmemory/region/audited-rest/unregister', 200, null); // already gone: no error, nothing changed
      await rest('/v2/cudasharedmemory/region/audited-cuda/unregister', 200, null); // never any CUDA region
      assert.equal(
        (await call('SystemSharedMemoryRegister', { name: 'audited-grpc', key: outKey, offset: 0, byte_size: BYTES })).error,
        undefined,
      );
      assert.equal((await call('SystemSharedMemoryRegister', { name: 'audited-grpc', key: outKey, byte_size: BYTES })).error?.code, 3);
      assert.equal((await call('SystemSharedMemoryUnregister', { name: 'audited-grpc' })).error, undefined);

      type Event = { requestId: string; action: string; target: any; before: any; after: any };
      const ours = async (): Promise<Event[]> => {
        const out: Event[] = [];
        for (const action of ['shared-memory.registered', 'shared-memory.unregistered']) {
          const page = await kiln.request('GET', `/api/audit/events?action=${action}&limit=200`);
          assert.equal(page.status, 200, page.text);
          out.push(...(page.body.items as Event[]).filter((e) => String(e.target.region).startsWith('audited-')));
        }
        return out;
      };
      // gRPC calls' events reach the chain by the relay's timer; REST ones before the answer.
      await eventually(async () => ((await ours()).length >= 4 ? true : undefined), 30_000, 100);
      await new Promise((r) => setTimeout(r, 1500)); // the relay runs every second: a duplicate would be in by now
      const events = await ours();
      const summary = (e: Event) => [e.action, e.target.kind, e.target.region, e.target.pid === undefined ? null : 'pid'];
      assert.deepEqual(
        events.map(summary).sort(),
        [
          ['shared-memory.registered', 'system', 'audited-grpc', 'pid'],
          ['shared-memory.registered', 'system', 'audited-rest', 'pid'],
          ['shared-memory.unregistered', 'system', 'audited-grpc', 'pid'],
          ['shared-memory.unregistered', 'system', 'audited-rest', 'pid'],
        ].sort(),
        'one event per change, none for the refusals and no-ops',
      );
      for (const [id, action] of sent) assert.equal(events.filter((e) => e.requestId === id && e.action === action).length, 1, id);
      const registered = events.find((e) => e.action === 'shared-memory.registered' && e.target.region === 'audited-rest')!;
      assert.deepEqual(registered.after, { name: 'audited-rest', key: inKey, offset: 0, byte_size: BYTES });
      const unregistered = events.find((e) => e.action === 'shared-memory.unregistered' && e.target.region === 'audited-rest')!;
      assert.deepEqual(unregistered.before, [{ name: 'audited-rest', key: inKey, offset: 0, byte_size: BYTES }], 'the region it removed');
    });

    it('gRPC: tritonclient.grpc registers, infers through shared memory (raw outputs empty for them), reads the status', async () => {
      writeFileSync(objects[1]!, Buffer.alloc(2 * BYTES));
      for (const [name, key] of [
        ['input_data', inKey],
        ['output_data', outKey],
      ] as const) {
        const r = await call('SystemSharedMemoryRegister', { name, key, offset: 0, byte_size: 2 * BYTES });
        assert.equal(r.error, undefined, r.error?.details);
      }
      const twice = await call('SystemSharedMemoryRegister', { name: 'input_data', key: inKey, offset: 0, byte_size: 2 * BYTES });
      assert.equal(twice.error?.code, grpc.status.INVALID_ARGUMENT);
      const p = (region: string, offset: number) => ({
        shared_memory_region: { string_param: region },
        shared_memory_byte_size: { int64_param: BYTES },
        ...(offset ? { shared_memory_offset: { int64_param: offset } } : {}),
      });
      const res = await call('ModelInfer', {
        model_name: SIMPLE,
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: p('input_data', 0) },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: p('input_data', BYTES) },
        ],
        outputs: [
          { name: 'OUTPUT0', parameters: p('output_data', 0) },
          { name: 'OUTPUT1', parameters: p('output_data', BYTES) },
        ],
      });
      assert.equal(res.error, undefined, res.error?.details);
      assert.deepEqual(
        res.response.outputs.map((o: { name: string; shape: number[]; contents?: unknown }) => [
          o.name,
          o.shape.map(Number),
          o.contents ?? null,
        ]),
        [
          ['OUTPUT0', [1, 16], null],
          ['OUTPUT1', [1, 16], null],
        ],
      );
      assertSumsAndDifferencesWritten();
      const status = await call('SystemSharedMemoryStatus', {});
      assert.deepEqual(Object.keys(status.response.regions).sort(), ['input_data', 'output_data']);
      assert.equal(Number(status.response.regions.input_data.byte_size), 2 * BYTES);
      assert.equal((await call('SystemSharedMemoryUnregister', {})).error, undefined);
      assert.deepEqual((await call('SystemSharedMemoryStatus', {})).response.regions ?? {}, {}, 'an empty map');
      const cuda = await call('CudaSharedMemoryRegister', { name: 'c', byte_size: 4 });
      assert.equal(cuda.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.deepEqual((await call('CudaSharedMemoryStatus', {})).response.regions ?? {}, {});
    });
  });
}

void main();
