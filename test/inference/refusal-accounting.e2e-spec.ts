/**
 * Calls refused before the runtime, accounted like the others, on PostgreSQL: the record API's own
 * refusals (bad JSON, content type, 401, 403, unknown model, bad query) are audited exactly once
 * like /v1 and /v2 ones; a refused call's audit latency counts from when the request arrived (a body
 * sent slowly shows in it); and refusals are counted in kiln_inference_requests_total with their
 * status as the outcome, under `(unknown)` for a model name this process does not route.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { auditRecord, chainedAuditRecord } from '../utils/audit-lookup';
import { importGraphModel } from '../models/model-import-helpers';
import { servingReady } from './triton-test-client';
import { SIMPLE_SIGNATURE, simpleAddSubGraphModel } from '../support/tfjs/graph-model-fixture';

const SIMPLE = 'simple';
const PAUSE_MS = 400;

/** POSTs `first`, waits, then sends `rest`: a client on a slow link. Resolves with the status and x-request-id. */
function slowPost(kiln: TestKiln, path: string, first: string, rest: string): Promise<{ status: number; id: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, kiln.url);
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${kiln.adminKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(first + rest),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, id: String(res.headers['x-request-id']) }));
      },
    );
    req.on('error', reject);
    req.write(first);
    void sleep(PAUSE_MS).then(() => req.end(rest));
  });
}

/** The value of one sample of kiln_inference_requests_total in the /metrics text (0 when absent). */
async function requestsCounted(kiln: TestKiln, labels: Record<string, string>): Promise<number> {
  const text = (await kiln.request('GET', '/metrics', { key: null })).text;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith('kiln_inference_requests_total{') && wanted.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('refused calls: audited once with their latency, counted in Prometheus', { skip }, () => {
    let kiln: TestKiln;
    let auditorKey: string;

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres');
      await importGraphModel(kiln, SIMPLE, simpleAddSubGraphModel(), SIMPLE_SIGNATURE);
      auditorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } })).body.key;
      await servingReady(kiln);
    });
    after(async () => {
      await kiln?.close();
    });

    it("the record API's own refusals are audited exactly once (route record), with the answer's status and error", async () => {
      const path = `/api/models/${SIMPLE}/predict`;
      const cases: Array<{
        why: string;
        path: string;
        body: string;
        headers?: Record<string, string>;
        key?: string | null;
        status: number;
      }> = [
        { why: 'bad JSON', path, body: '{"records": [', headers: { 'content-type': 'application/json' }, status: 400 },
        { why: 'content type', path, body: '<records/>', headers: { 'content-type': 'application/xml' }, status: 415 },
        { why: 'no key', path, body: '{"records": [{}]}', key: null, status: 401 },
        { why: 'role', path, body: '{"records": [{}]}', key: auditorKey, status: 403 },
        { why: 'bad query', path: `${path}?version=abc`, body: '{"records": [{}]}', status: 400 },
        { why: 'body shape', path, body: '{"rows": []}', status: 400 },
        { why: 'unknown model', path: '/api/models/no-such-model/predict', body: '{"records": [{"x": 1}]}', status: 404 },
      ];
      for (const c of cases) {
        const res = await fetch(`${kiln.url}${c.path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(c.key === null ? {} : { authorization: `Bearer ${c.key ?? kiln.adminKey}` }),
            ...(c.headers ?? {}),
          },
          body: c.body,
        });
        const text = await res.text();
        assert.equal(res.status, c.status, `${c.why}: ${text}`);
        // chained: the listing below must hold every one of these calls
        const record = await chainedAuditRecord(kiln, res.headers.get('x-request-id')!);
        const unknown = /no-such-model/.test(c.path);
        assert.deepEqual(
          [record.route, record.status, record.model, record.rows],
          ['record', c.status, unknown ? 'no-such-model' : SIMPLE, 0],
          c.why,
        );
        // the runtime audits an unknown model itself (with the records it was given); the others read no inputs
        if (!unknown) assert.equal(record.inputs, null, c.why);
        assert.ok(typeof record.error === 'string' && record.error.length > 0, `${c.why}: ${JSON.stringify(record)}`);
      }
      const listed = await kiln.request('GET', '/api/audit/predictions?limit=500');
      const ids = (listed.body.items ?? listed.body).map((r: { requestId: string }) => r.requestId);
      assert.equal(ids.length, new Set(ids).size, 'no call audited twice');
    });

    it("a refused call's latency counts from its arrival, on /v2, /v1 and the record API", async () => {
      for (const path of [`/v2/models/${SIMPLE}/infer`, `/v1/models/${SIMPLE}:predict`, `/api/models/${SIMPLE}/predict`]) {
        const res = await slowPost(kiln, path, '{"inputs": ', '[}');
        assert.equal(res.status, 400, path);
        const record = await auditRecord(kiln, res.id);
        assert.equal(record.status, 400, path);
        assert.ok(
          record.latencyMs >= PAUSE_MS * 0.9,
          `${path}: latencyMs ${record.latencyMs} for a body that took ${PAUSE_MS} ms to arrive`,
        );
      }
    });

    it('refusals are counted in kiln_inference_requests_total by status; made-up model names under (unknown)', async () => {
      const codec = { model: SIMPLE, protocol: 'oip', outcome: '400' };
      const before400 = await requestsCounted(kiln, codec);
      const bad = await kiln.request('POST', `/v2/models/${SIMPLE}/infer`, { body: { inputs: [] } });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(await requestsCounted(kiln, codec), before400 + 1);

      const unknown = { model: '(unknown)', protocol: 'oip', outcome: '404' };
      const before404 = await requestsCounted(kiln, unknown);
      const made = `made-up-${Date.now()}`;
      assert.equal((await kiln.request('POST', `/v2/models/${made}/infer`, { body: { inputs: [] } })).status, 404);
      assert.equal(await requestsCounted(kiln, unknown), before404 + 1);
      const metrics = (await kiln.request('GET', '/metrics', { key: null })).text;
      assert.ok(!metrics.includes(made), 'the made-up name is no label');
      assert.ok(!metrics.includes('no-such-model'), "nor the record API's unknown model (refused in the runtime)");

      const record = { model: SIMPLE, protocol: 'record', outcome: '415' };
      const before415 = await requestsCounted(kiln, record);
      await kiln.request('POST', `/api/models/${SIMPLE}/predict`, { body: '<x/>', headers: { 'content-type': 'application/xml' } });
      assert.equal(await requestsCounted(kiln, record), before415 + 1);
    });
  });
}

void main();
