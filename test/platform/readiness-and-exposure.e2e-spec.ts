/**
 * Readiness names the failing part with 503; /metrics and /docs exposure follows KILN_METRICS / KILN_DOCS.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipUnless, startTestKiln, TestKiln } from '../utils/test-kiln';

void (async () => {
  const skip = await skipUnless('postgres');

  describe('KILN_METRICS=auth, KILN_DOCS=off', { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_METRICS: 'auth', KILN_DOCS: 'off' });
    });
    after(() => kiln?.close());

    it('asks for an admin or auditor key on /metrics', async () => {
      assert.equal((await kiln.request('GET', '/metrics', { key: null })).status, 401);
      const auditor = await kiln.request('POST', '/api/keys', { body: { name: 'prometheus', role: 'auditor' } });
      const predictor = await kiln.request('POST', '/api/keys', { body: { name: 'app', role: 'predictor' } });
      assert.equal((await kiln.request('GET', '/metrics', { key: predictor.body.key })).status, 403);
      const scrape = await kiln.request('GET', '/metrics', { key: auditor.body.key });
      assert.equal(scrape.status, 200);
      assert.match(scrape.text, /kiln_http_request_duration_seconds/);
      // TF Serving's default Prometheus path (tensorflow_model_server_test.py testPrometheusEndpoint), same exposure
      const tfServing = '/monitoring/prometheus/metrics';
      assert.equal((await kiln.request('GET', tfServing, { key: null })).status, 401);
      assert.equal((await kiln.request('GET', tfServing, { key: predictor.body.key })).status, 403);
      const tfScrape = await kiln.request('GET', tfServing, { key: auditor.body.key });
      assert.equal(tfScrape.status, 200);
      assert.match(tfScrape.text, /# TYPE kiln_http_request_duration_seconds/);
    });

    it('serves no docs', async () => {
      assert.equal((await kiln.request('GET', '/docs-json')).status, 404);
      assert.equal((await kiln.request('GET', '/docs')).status, 404);
    });

    it('answers 503 on /health/ready naming the part that fails, and recovers', async () => {
      const artifacts = join(kiln.dataDir, 'artifacts');
      await rm(artifacts, { recursive: true, force: true });
      await writeFile(artifacts, 'not a directory');
      const res = await kiln.request('GET', '/health/ready', { key: null });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.match(res.body.detail, /^not ready: artifacts \(ENOTDIR/);
      assert.deepEqual(res.body.failing, ['artifacts']);
      assert.equal(res.body.checks.artifacts.status, 'down');
      assert.equal(res.body.checks.database.status, 'up');
      assert.equal(res.body.checks.queues.status, 'up');
      await rm(artifacts, { force: true });
      assert.equal((await kiln.request('GET', '/health/ready', { key: null })).status, 200);
      assert.equal((await kiln.request('GET', '/health/live', { key: null })).status, 200);
    });
  });

  describe('KILN_DOCS=auth, KILN_METRICS=off', { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_DOCS: 'auth', KILN_METRICS: 'off' });
    });
    after(() => kiln?.close());

    it('asks for any valid key on /docs and /docs-json; /metrics (nor TF Serving’s path) does not exist', async () => {
      const anonymous = await kiln.request('GET', '/docs-json', { key: null });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal((await kiln.request('GET', '/docs-json', { key: 'kiln_AAAAAAAAAAAA_wrongwrongwrongwrongwrongwrong00' })).status, 401);
      const withKey = await kiln.request('GET', '/docs-json');
      assert.equal(withKey.status, 200);
      assert.ok(withKey.body.paths['/api/keys']);
      assert.equal((await kiln.request('GET', '/metrics')).status, 404);
      assert.equal((await kiln.request('GET', '/monitoring/prometheus/metrics')).status, 404);
    });
  });
})();
