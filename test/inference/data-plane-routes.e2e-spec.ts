/**
 * The data plane (record API, TF Serving /v1, Open Inference Protocol /v2) is served by plain Fastify
 * routes (platform/http/direct-routes.ts), not through Nest's router pipeline:
 *
 *  - Nest's global guard (ApiKeyGuard) and interceptor (AdminEventsInterceptor) are observed through
 *    counters on their prototypes: they run for a control-plane route and never for a data-plane one;
 *  - a table of requests answered the same way on every data-plane route as through Nest's pipeline
 *    (these rows pass on the Nest-routed code too): auth (401 with its WWW-Authenticate challenge,
 *    403), the error bodies and content types (problem+json on the record API, `{"error"}` on /v1 and
 *    /v2), body limit 413, JSON depth 400, bad content type 415, a gzip body, an empty path parameter
 *    (404 as Nest's adapter answers), x-request-id, and every answered /v1 and /v2 call audited once.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { ApiKeyGuard } from '../../src/platform/auth/api-key.guard';
import { AdminEventsInterceptor } from '../../src/audit/admin-events.interceptor';
import { graphImportForm, HALF_PLUS_TWO_SIGNATURE, halfPlusTwo } from '../support/tfjs/serving-fixtures';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { auditRecord } from '../utils/audit-lookup';

const MODEL = 'half_plus_two';

/** Nest pipeline runs seen per request path (the counters wrap the real guard and interceptor). */
const nestRuns = new Map<string, number>();
function countNestRun(url: string): void {
  const path = url.split('?')[0]!;
  nestRuns.set(path, (nestRuns.get(path) ?? 0) + 1);
}
for (const [cls, method] of [
  [ApiKeyGuard, 'canActivate'],
  [AdminEventsInterceptor, 'intercept'],
] as const) {
  const proto = cls.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = proto[method]!;
  proto[method] = function (this: unknown, ...args: unknown[]) {
    const context = args[0] as { getType(): string; switchToHttp(): { getRequest<T>(): T } };
    if (context.getType() === 'http') countNestRun(context.switchToHttp().getRequest<{ url: string }>().url);
    return original.apply(this, args);
  };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(
  kiln: TestKiln,
  method: string,
  path: string,
  body: string | Buffer | null,
  headers: Record<string, string>,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${kiln.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

interface Route {
  name: string;
  path: (model: string) => string;
  good: string;
  /** The error body's message member: problem+json `detail` or the serving protocols' `error`. */
  format: 'problem' | 'serving';
  audited: boolean;
}

const ROUTES: Route[] = [
  { name: 'record API', path: (m) => `/api/models/${m}/predict`, good: '{"records": [{"x": 1}]}', format: 'problem', audited: false },
  { name: 'TF Serving :predict', path: (m) => `/v1/models/${m}:predict`, good: '{"instances": [1, 2]}', format: 'serving', audited: true },
  {
    name: 'OIP infer',
    path: (m) => `/v2/models/${m}/infer`,
    good: '{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}',
    format: 'serving',
    audited: true,
  },
  {
    name: 'OIP version infer',
    path: (m) => `/v2/models/${m}/versions/1/infer`,
    good: '{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}',
    format: 'serving',
    audited: true,
  },
];

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('data-plane routes: served without Nest’s pipeline, answered as through it (configuration "postgres")', { skip }, () => {
    let kiln: TestKiln;
    let predictor: string;
    let auditor: string;

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_BODY_LIMIT_BYTES: '65536', KILN_SERVING_BODY_LIMIT_BYTES: '65536' });
      const form = graphImportForm(halfPlusTwo(), HALF_PLUS_TWO_SIGNATURE);
      const upload = await fetch(`${kiln.url}/api/models/${MODEL}/versions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kiln.adminKey}` },
        body: form,
      });
      assert.equal(upload.status, 201, await upload.text());
      assert.equal((await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } })).status, 200);
      predictor = (await kiln.request('POST', '/api/keys', { body: { name: 'predictor', role: 'predictor' } })).body.key;
      auditor = (await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } })).body.key;
    });
    after(() => kiln?.close());

    it('Nest’s global guard and interceptor run for a control-plane route and never for a data-plane route', async () => {
      nestRuns.clear();
      const control = await kiln.request('GET', `/api/models/${MODEL}`);
      assert.equal(control.status, 200);
      assert.ok((nestRuns.get(`/api/models/${MODEL}`) ?? 0) >= 2, `the counters see Nest's pipeline: ${JSON.stringify([...nestRuns])}`);
      nestRuns.clear();
      const json = { 'content-type': 'application/json', authorization: `Bearer ${predictor}` };
      for (const route of ROUTES) {
        const res = await send(kiln, 'POST', route.path(MODEL), route.good, json);
        assert.ok(res.status < 500, `${route.name}: ${res.status} ${res.text}`);
      }
      for (const path of [`/v1/models/${MODEL}`, `/v1/models/${MODEL}/metadata`, `/v2/models/${MODEL}`, '/v2/health/ready']) {
        assert.equal((await send(kiln, 'GET', path, null, { authorization: `Bearer ${predictor}` })).status, 200, path);
      }
      assert.deepEqual([...nestRuns], [], 'no data-plane call went through Nest’s guard or interceptors');
    });

    it('auth, errors, limits and audit answer alike on every data-plane route', async () => {
      const deep = `{"records": ${'['.repeat(100)}${']'.repeat(100)}}`;
      const big = `{"pad": "${'x'.repeat(70_000)}"}`;
      for (const route of ROUTES) {
        const path = route.path(MODEL);
        const key = (k: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${k}` });
        const rows: Array<{
          why: string;
          path?: string;
          body: string | Buffer;
          headers: Record<string, string>;
          status: number;
          message: RegExp;
        }> = [
          {
            why: 'no key',
            body: route.good,
            headers: { 'content-type': 'application/json' },
            status: 401,
            message: /^an API key is required/,
          },
          { why: 'revoked or unknown key', body: route.good, headers: key('kiln_nope'), status: 401, message: /not valid or was revoked/ },
          {
            why: 'a role without the data plane',
            body: route.good,
            headers: key(auditor),
            status: 403,
            message: /role "auditor" may not do this/,
          },
          { why: 'not JSON', body: '{"a": [', headers: key(predictor), status: 400, message: /^body: not valid JSON/ },
          { why: 'too deep', body: deep, headers: key(predictor), status: 400, message: /JSON nesting depth exceeds/ },
          {
            why: 'too large',
            body: big,
            headers: key(predictor),
            status: 413,
            message: /exceeds the maximum allowed input size of \d+ bytes/,
          },
          {
            why: 'bad content type',
            body: route.good,
            headers: { ...key(predictor), 'content-type': 'application/xml' },
            status: 415,
            message: /Unsupported Media Type|application\/xml is not supported/,
          },
          {
            why: 'a gzip header on a body that is not gzip',
            body: route.good,
            headers: { ...key(predictor), 'content-encoding': 'gzip' },
            status: 400,
            message: /./,
          },
          {
            why: 'unknown model',
            path: route.path('no_such_model'),
            body: route.good,
            headers: key(predictor),
            status: 404,
            message: /no_such_model/,
          },
        ];
        for (const row of rows) {
          const res = await send(kiln, 'POST', row.path ?? path, row.body, row.headers);
          const what = `${route.name}, ${row.why}: ${res.status} ${res.text.slice(0, 300)}`;
          assert.equal(res.status, row.status, what);
          const id = res.headers['x-request-id'];
          assert.equal(typeof id, 'string', what);
          const body = JSON.parse(res.text) as Record<string, unknown>;
          if (route.format === 'problem') {
            assert.match(String(res.headers['content-type']), /^application\/problem\+json\b/, what);
            assert.equal(body.status, row.status, what);
            assert.equal(body.requestId, id, what);
            assert.equal(body.instance, (row.path ?? path).split('?')[0], what);
            assert.match(String(body.detail), row.message, what);
          } else {
            assert.equal(res.headers['content-type'], 'application/json', what);
            assert.deepEqual(Object.keys(body), ['error'], what);
            assert.match(String(body.error), row.message, what);
          }
          if (row.status === 401) {
            const challenge = row.why === 'no key' ? 'Bearer realm="kiln"' : 'Bearer realm="kiln", error="invalid_token"';
            assert.equal(res.headers['www-authenticate'], challenge, what);
          }
          if (route.audited) {
            const record = await auditRecord(kiln, String(id));
            assert.deepEqual([record.status, record.error], [row.status, body.error], what);
          }
        }
        // A body sent gzip-compressed is read as sent (within the limit after inflation).
        const zipped = await send(kiln, 'POST', path, gzipSync(route.good), {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          authorization: `Bearer ${predictor}`,
        });
        const plain = await send(kiln, 'POST', path, route.good, {
          'content-type': 'application/json',
          authorization: `Bearer ${predictor}`,
        });
        assert.deepEqual(
          [zipped.status, JSON.parse(zipped.text).error ?? JSON.parse(zipped.text).detail],
          [plain.status, JSON.parse(plain.text).error ?? JSON.parse(plain.text).detail],
          route.name,
        );
      }
      // An empty route parameter is a 404 from the not-found handler, as Nest's adapter answers it.
      const empty = await send(kiln, 'POST', '/v2/models//infer', ROUTES[2]!.good, {
        'content-type': 'application/json',
        authorization: `Bearer ${predictor}`,
      });
      assert.equal(empty.status, 404, empty.text);
      // Every answered /v1 and /v2 call is audited once: no duplicates among the records of this test.
      const listed = await kiln.request('GET', '/api/audit/predictions?limit=500');
      const ids = (listed.body.items as Array<{ requestId: string }>).map((p) => p.requestId);
      assert.equal(new Set(ids).size, ids.length, 'no call audited twice');
    });

    it('successful calls answer as before: status 200, the protocol’s body, x-request-id, audited once', async () => {
      const auth = { 'content-type': 'application/json', authorization: `Bearer ${predictor}` };
      const v1 = await send(kiln, 'POST', `/v1/models/${MODEL}:predict`, ROUTES[1]!.good, auth);
      assert.equal(v1.status, 200, v1.text);
      assert.deepEqual(JSON.parse(v1.text), { predictions: [2.5, 3.0] });
      const v2 = await send(kiln, 'POST', `/v2/models/${MODEL}/infer`, ROUTES[2]!.good, auth);
      assert.equal(v2.status, 200, v2.text);
      assert.deepEqual(JSON.parse(v2.text).outputs[0].data, [2.5, 3]);
      for (const res of [v1, v2]) {
        const id = String(res.headers['x-request-id']);
        assert.equal((await auditRecord(kiln, id)).status, 200);
      }
    });
  });
}

void main();
