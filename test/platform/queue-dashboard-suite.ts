/**
 * The queue dashboard (bull-board) at /admin/queues, on one queue backend: admin only (401 without a key,
 * 403 for another role), every queue of the process listed with its jobs, and the page renders in Chromium
 * with the admin key sent as a header.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QueueName } from '../../src/contracts';
import { openBrowser, screenshot, skipUnlessBrowser } from '../utils/browser';
import { eventually, skipUnless, startTestKiln, type TestConfiguration, type TestKiln } from '../utils/test-kiln';

export async function queueDashboardSuite(configuration: TestConfiguration): Promise<void> {
  const skip = await skipUnless(configuration);
  describe(`queue dashboard on configuration "${configuration}"`, { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln(configuration);
    });
    after(async () => {
      await kiln?.close();
    });

    it('answers only the admin key: 401 without one, 403 for a developer, problem+json', async () => {
      const none = await kiln.request('GET', '/admin/queues', { key: null });
      assert.equal(none.status, 401);
      assert.match(none.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      const api = await kiln.request('GET', '/admin/queues/api/queues', { key: null });
      assert.equal(api.status, 401, 'the dashboard API is guarded too');
      const dev = await kiln.request('POST', '/api/keys', { body: { name: 'dashboard dev', role: 'developer' } });
      assert.equal(dev.status, 201);
      const forbidden = await kiln.request('GET', '/admin/queues', { key: dev.body.key });
      assert.equal(forbidden.status, 403);
      assert.match(forbidden.body.detail, /developer/);
      const bad = await kiln.request('GET', '/admin/queues', { key: 'kiln_nope_notakeyatallnotakeyatall' });
      assert.equal(bad.status, 401);
    });

    it('lists every queue with the jobs on it', async () => {
      const page = await kiln.request('GET', '/admin/queues');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      // A job on the platform queue (the ping diagnostic) shows up as completed.
      const ping = await kiln.request('POST', '/api/platform/ping', { body: { message: 'dashboard' } });
      assert.equal(ping.status, 201);
      const queues = await eventually(async () => {
        const r = await kiln.request('GET', '/admin/queues/api/queues?activeQueue=platform&status=completed&page=1');
        assert.equal(r.status, 200, r.text);
        const platform = (r.body.queues as Array<{ name: string; counts: Record<string, number> }>).find((q) =>
          q.name.endsWith('platform'),
        );
        return platform && platform.counts.completed! >= 1 ? r.body.queues : undefined;
      });
      const names = (queues as Array<{ name: string }>).map((q) => q.name).sort();
      assert.deepEqual(names, Object.values(QueueName).sort());
    });

    it('renders in Chromium with the admin key as a header', { skip: skipUnlessBrowser() }, async () => {
      const browser = await openBrowser();
      try {
        const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${kiln.adminKey}` } });
        const page = await context.newPage();
        const response = await page.goto(`${kiln.url}/admin/queues`);
        assert.equal(response?.status(), 200);
        await page.getByText('training', { exact: false }).first().waitFor({ timeout: 30_000 });
        await page.getByText('batch-inference', { exact: false }).first().waitFor({ timeout: 30_000 });
        await screenshot(page, `queue-dashboard-${configuration}`);
      } finally {
        await browser.close();
      }
    });
  });
}
