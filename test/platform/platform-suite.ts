/**
 * Platform integration tests, run once per configuration (see the *.e2e-spec.ts files beside this).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { dataSourceOptions, MIGRATIONS_TABLE } from '../../src/platform/database/data-source-options';
import { runMigrationsLocked } from '../../src/platform/database/migrate';
import { eventually, skipUnless, startTestKiln, TestConfiguration, TestKiln } from '../utils/test-kiln';

export async function platformSuite(configuration: TestConfiguration): Promise<void> {
  const skip = await skipUnless(configuration);
  describe(`platform on configuration "${configuration}"`, { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln(configuration);
    });
    after(async () => {
      await kiln?.close();
    });

    it('is live and ready, naming each checked part', async () => {
      const live = await kiln.request('GET', '/health/live', { key: null });
      assert.equal(live.status, 200);
      const ready = await kiln.request('GET', '/health/ready', { key: null });
      assert.equal(ready.status, 200, ready.text);
      assert.deepEqual(Object.keys(ready.body.details).sort(), ['artifacts', 'database', 'queues']);
      for (const part of Object.values(ready.body.details) as Array<{ status: string }>) assert.equal(part.status, 'up');
    });

    it('reports the configuration it runs on', async () => {
      const info = await kiln.request('GET', '/api/platform');
      assert.equal(info.status, 200);
      assert.equal(info.body.queueBackend, configuration === 'redis' ? 'redis' : 'postgres');
      assert.equal(info.body.database, configuration === 'embedded' ? 'embedded' : 'external');
    });

    it('applied every migration exactly once, and applying again (concurrently) changes nothing', async () => {
      const sources = await Promise.all([1, 2, 3].map(() => new DataSource(dataSourceOptions(kiln.databaseUrl)).initialize()));
      try {
        const results = await Promise.all(sources.map((ds) => runMigrationsLocked(ds)));
        assert.deepEqual(
          results.map((r) => r.length),
          [0, 0, 0],
        );
        const rows: Array<{ name: string }> = await sources[0]!.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`);
        assert.deepEqual(
          rows.map((r) => r.name),
          MIGRATIONS.map((m) => m.name),
        );
      } finally {
        await Promise.all(sources.map((ds) => ds.destroy()));
      }
    });

    it('enforces API keys: 401 without or with a bad key, 403 for a role that may not act, 200 for one that may', async () => {
      const none = await kiln.request('GET', '/api/keys', { key: null });
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.match(none.body.detail, /API key is required/);
      // RFC 6750 §3: a 401 names the scheme; a token that was sent but is not valid says so
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="kiln"');
      const bogus = await kiln.request('GET', '/api/keys', { key: 'kiln_AAAAAAAAAAAA_notarealkeynotarealkeynotarealkey00' });
      assert.equal(bogus.status, 401);
      assert.equal(bogus.headers.get('www-authenticate'), 'Bearer realm="kiln", error="invalid_token"');

      const keys: Record<string, string> = {};
      for (const role of ['developer', 'predictor', 'auditor'] as const) {
        const created = await kiln.request('POST', '/api/keys', { body: { name: `${role} key`, role } });
        assert.equal(created.status, 201, created.text);
        assert.match(created.body.key, /^kiln_[A-Za-z0-9]{12}_/);
        keys[role] = created.body.key;
      }
      // keys are admin-only
      for (const role of ['developer', 'predictor', 'auditor']) {
        const res = await kiln.request('GET', '/api/keys', { key: keys[role] });
        assert.equal(res.status, 403, `${role} must not list keys`);
        assert.match(res.body.detail, new RegExp(`role "${role}" may not`));
      }
      // any valid key may read platform info; x-api-key works as well as Bearer
      const viaHeader = await kiln.request('GET', '/api/platform', { key: null, headers: { 'x-api-key': keys.predictor! } });
      assert.equal(viaHeader.status, 200);
      const listed = await kiln.request('GET', '/api/keys');
      assert.equal(listed.status, 200);
      assert.ok(listed.body.length >= 4);
      assert.ok(
        listed.body.every((k: Record<string, unknown>) => !('key' in k) && !('secretHash' in k)),
        'no secret is ever listed',
      );

      // a revoked key stops working at once
      const dev = listed.body.find((k: { name: string }) => k.name === 'developer key');
      const revoked = await kiln.request('DELETE', `/api/keys/${dev.id}`);
      assert.equal(revoked.status, 200);
      assert.ok(revoked.body.revokedAt);
      assert.equal((await kiln.request('GET', '/api/platform', { key: keys.developer })).status, 401);
    });

    it('answers bad input with problem+json naming the field and the reason', async () => {
      const res = await kiln.request('POST', '/api/keys', { body: { name: '', role: 'boss', extra: 1 } });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(res.body.status, 400);
      assert.equal(res.body.instance, '/api/keys');
      const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
      assert.deepEqual([...new Set(fields)], ['extra', 'name', 'role']);
      assert.ok(
        res.body.errors.some((e: { field: string; reason: string }) => e.field === 'role' && /one of the following values/.test(e.reason)),
      );
      const malformed = await kiln.request('POST', '/api/keys', { body: '{"name": ' });
      assert.equal(malformed.status, 400);
      assert.match(malformed.body.detail, /JSON/);
      const badId = await kiln.request('GET', '/api/keys/not-a-uuid');
      assert.equal(badId.status, 400);
      const missing = await kiln.request('GET', '/api/keys/00000000-0000-4000-8000-000000000000');
      assert.equal(missing.status, 404);
      const unknownRoute = await kiln.request('GET', '/api/nope');
      assert.equal(unknownRoute.status, 404);
      assert.equal(unknownRoute.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    });

    it('rejects a body over the size limit with 413', async () => {
      const big = JSON.stringify({ name: 'x'.repeat(11 * 1024 * 1024), role: 'developer' });
      const res = await kiln.request('POST', '/api/keys', { body: big });
      assert.equal(res.status, 413);
      assert.equal(res.body.status, 413);
    });

    it('gives every call its own request id (UUIDv7), whatever x-request-id the client sent, and puts it in errors', async () => {
      const given = await kiln.request('GET', '/api/nope', { headers: { 'x-request-id': 'trace-abc.123' } });
      const again = await kiln.request('GET', '/api/nope', { headers: { 'x-request-id': 'trace-abc.123' } });
      const id = given.headers.get('x-request-id') ?? '';
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(given.body.requestId, id);
      assert.notEqual(again.headers.get('x-request-id'), id);
      const generated = await kiln.request('GET', '/health/live', { key: null, headers: { 'x-request-id': 'bad id with spaces' } });
      assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    });

    it('runs a job round trip through the queue backend', async () => {
      const res = await kiln.request('POST', '/api/platform/ping', { body: { message: `hello ${configuration}`, delayMs: 50 } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.message, `hello ${configuration}`);
      assert.match(res.body.answeredBy, new RegExp(`:${process.pid}$`));
    });

    it('exports Prometheus metrics: process, HTTP by route and status, queue depth per queue', async () => {
      await kiln.request('GET', '/api/platform');
      // the request is observed once its response has gone out (Fastify's onResponse), which may be after the client has it
      const text = await eventually(async () => {
        const res = await fetch(`${kiln.url}/metrics`);
        assert.equal(res.status, 200);
        const body = await res.text();
        return /^kiln_http_request_duration_seconds_count\{method="GET",route="\/api\/platform",status_code="200"\} [1-9]/m.test(body)
          ? body
          : undefined;
      });
      assert.match(text, /^kiln_process_cpu_user_seconds_total \d/m);
      for (const queue of ['platform', 'ingestion', 'training', 'batch-inference', 'audit']) {
        assert.match(text, new RegExp(`^kiln_queue_jobs\\{queue="${queue}",state="waiting"\\} \\d+`, 'm'));
      }
    });

    it('serves the OpenAPI document with API-key auth wired in', async () => {
      const res = await kiln.request('GET', '/docs-json', { key: null });
      assert.equal(res.status, 200);
      assert.ok(res.body.paths['/api/keys']);
      assert.deepEqual(Object.keys(res.body.components.securitySchemes).sort(), ['bearer', 'x-api-key']);
      const ui = await fetch(`${kiln.url}/docs`);
      assert.equal(ui.status, 200);
      assert.match(await ui.text(), /swagger/i);
    });
  });
}
