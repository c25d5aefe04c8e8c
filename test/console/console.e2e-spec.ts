/**
 * The web console at `/` in headless Chromium, against a real Kiln: sign in with an API key, upload a
 * public dataset (vega-datasets penguins) and see its profile, start a training job and watch its curve
 * grow from the event stream, promote a version and roll it back, see the monitoring view after live
 * predictions and a drift check, verify the audit log; a predictor sees no write actions.
 * Screenshots: test-artifacts/screenshots/console-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { penguinRecords, trainModel } from '../inference/inference-helpers';
import { vegaFile } from '../ingestion/ingestion-helpers';
import { openBrowser, screenshot, skipUnlessBrowser } from '../utils/browser';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

const EPOCHS = 60;

void (async () => {
  const skip = skipUnlessBrowser() || (await skipUnless('postgres'));

  describe('web console', { skip }, () => {
    let kiln: TestKiln;
    let browser: Browser;
    let page: Page;
    const run = Date.now().toString(36);
    const datasetName = `penguins-${run}`;
    const modelName = `penguin-species-${run}`;
    let datasetVersionId = '';
    const requested: string[] = [];

    /** A fresh page signed in with `key` (the console keeps it in sessionStorage, one tab only). */
    async function signIn(key: string): Promise<Page> {
      const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      // Every value the curves' data-epochs attribute takes, recorded in the page as it happens.
      await p.addInitScript(`
        window.epochsSeen = [];
        new MutationObserver(() => {
          const v = document.querySelector('[data-epochs]')?.getAttribute('data-epochs');
          if (v && window.epochsSeen[window.epochsSeen.length - 1] !== v) window.epochsSeen.push(v);
        }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-epochs'] });
      `);
      p.on('request', (r) => requested.push(r.url()));
      await p.goto(`${kiln.url}/`);
      await p.fill('input[name=apiKey]', key);
      await p.click('button[type=submit]');
      await p.waitForSelector('nav.top');
      return p;
    }

    before(async () => {
      kiln = await startTestKiln('postgres');
      browser = await openBrowser();
    });
    after(async () => {
      await browser?.close();
      await kiln?.close();
    });

    it('serves the console at / with its bundled assets, and leaves the API routes alone', async () => {
      // a browser's Accept (text/html first): other clients get KServe's liveness JSON there (kserve-v1.e2e-spec.ts)
      const res = await fetch(`${kiln.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const html = await res.text();
      const script = /<script[^>]+src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script, `a bundled script in ${html}`);
      assert.doesNotMatch(html, /https?:\/\//, 'no CDN');
      const asset = await fetch(`${kiln.url}${script}`);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('content-type') ?? '', /javascript/);
      assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
      for (const path of ['/api/nope', '/v2/nope', '/console/nope.js', '/nope']) {
        const r = await fetch(`${kiln.url}${path}`);
        assert.equal(r.status, 404, path);
        assert.match(r.headers.get('content-type') ?? '', /json/, path);
      }
      assert.equal((await fetch(`${kiln.url}/health/live`)).status, 200);
    });

    it('refuses a wrong key and signs in with the admin key', async () => {
      const p = await browser.newPage();
      await p.goto(`${kiln.url}/`);
      await screenshot(p, 'console-sign-in');
      await p.fill('input[name=apiKey]', 'kiln_AAAAAAAAAAAA_notakeynotakeynotakeynotakeynotakey');
      await p.click('button[type=submit]');
      await p.waitForSelector('[role=alert]');
      assert.match((await p.textContent('[role=alert]')) ?? '', /not valid/);
      await p.close();
      page = await signIn(kiln.adminKey);
      const nav = await page.locator('nav.top a').allTextContents();
      assert.deepEqual(nav, ['Datasets', 'Training', 'Models', 'Monitoring', 'Audit', 'API keys']);
      assert.match((await page.textContent('nav.top .who')) ?? '', /admin/);
    });

    it('creates a dataset, uploads a file and draws its profile', async () => {
      await page.goto(`${kiln.url}/#/datasets`);
      await page.fill('input[name=datasetName]', datasetName);
      await page.click('text=Create');
      await page.waitForSelector('input[type=file]');
      await page.setInputFiles('input[type=file]', {
        name: 'penguins.json',
        mimeType: 'application/json',
        buffer: vegaFile('penguins.json'),
      });
      await page.click('text=Upload version');
      await page.waitForSelector('.status-ready', { timeout: 60_000 });
      await page.waitForSelector('[data-chart="profile Body Mass (g)"] svg .mark-rect path', { timeout: 30_000 });
      await page.waitForSelector('[data-chart="profile Species"] svg');
      const schema = await page.locator('section:has(h2:text-matches("schema")) tbody tr td:first-child').allTextContents();
      for (const col of ['Species', 'Island', 'Body Mass (g)', 'Sex'])
        assert.ok(schema.includes(col), `schema lists ${col}: ${schema.join(', ')}`);
      const datasets = (await kiln.request('GET', '/api/datasets')).body as any[];
      const ds = datasets.find((d) => d.name === datasetName);
      const [version] = (await kiln.request('GET', `/api/datasets/${ds.id}/versions`)).body as any[];
      assert.equal(version.status, 'ready');
      assert.equal(version.rowCount, 344);
      datasetVersionId = version.id;
      await screenshot(page, 'console-dataset');
    });

    it('starts a training job and draws its curve as the epochs arrive over the event stream', async () => {
      await page.selectOption('select[name=target]', 'Species');
      await page.fill('input[name=modelName]', modelName);
      await page.fill('input[name=epochs]', String(EPOCHS));
      await page.fill('input[name=patience]', '0');
      await page.click('text=Start training');
      await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
      const jobId = /#\/jobs\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
      await page.waitForSelector('[data-chart="loss curve"] svg', { timeout: 60_000 });
      await screenshot(page, 'console-training-running');
      await page.waitForSelector('.facts .status-succeeded', { timeout: 120_000 });
      await page.waitForSelector(`[data-epochs="${EPOCHS}"]`);
      const seen = ((await page.evaluate('window.epochsSeen')) as string[]).map(Number);
      // Drawn while it ran: the curve had fewer epochs first, then more, up to all of them.
      assert.ok(seen.length >= 2 && seen[0]! < EPOCHS, `epoch counts drawn: ${seen.join(',')}`);
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        seen,
        'the curve only grows',
      );
      assert.equal(seen[seen.length - 1], EPOCHS);
      // … from the event stream, opened with a stream token (no Authorization header on EventSource).
      assert.ok(
        requested.some((u) => u.startsWith(`${kiln.url}/api/training-jobs/${jobId}/events?token=kst1.`)),
        'the job page opened the event stream with a stream token',
      );
      const points = await page.locator('[data-chart="loss curve"] svg g.mark-symbol.role-mark path').count();
      assert.equal(points, 2 * EPOCHS, 'training and validation loss per epoch');
      assert.match((await page.textContent('section:has(h2:text("Resolved configuration"))')) ?? '', /"epochs": 60/);
      const job = (await kiln.request('GET', `/api/training-jobs/${jobId}`)).body;
      assert.equal(job.status, 'succeeded');
      assert.equal(job.history.length, EPOCHS);
      await screenshot(page, 'console-training');
      await page.goto(`${kiln.url}/#/jobs`);
      await page.waitForSelector(`tr:has(td:text("${modelName}")) .status-succeeded`);
      await screenshot(page, 'console-jobs');
    });

    it('cancels a running job from its page', async () => {
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId,
          target: 'Species',
          modelName: `${modelName}-cancelled`,
          hyperparameters: { epochs: 5000, earlyStoppingPatience: 0 },
        },
      });
      assert.equal(res.status, 202, res.text);
      await page.goto(`${kiln.url}/#/jobs/${res.body.id}`);
      await page.waitForSelector('[data-epochs]', { timeout: 60_000 });
      await page.click('text=Cancel job');
      await page.waitForSelector('.facts .status-cancelled', { timeout: 60_000 });
      assert.equal((await kiln.request('GET', `/api/training-jobs/${res.body.id}`)).body.status, 'cancelled');
      assert.equal(await page.getByText('Cancel job').count(), 0, 'no cancel button on a finished job');
    });

    it('promotes a version to production and rolls it back', async () => {
      const v2 = await trainModel(kiln, { datasetVersionId, modelName, target: 'Species', hyperparameters: { epochs: 5 } });
      assert.equal(v2, 2);
      await page.goto(`${kiln.url}/#/models/${modelName}`);
      await page.waitForSelector('tr[data-version="1"] [data-action=promote]');
      await page.click('tr[data-version="1"] [data-action=promote]');
      await page.waitForSelector('tr[data-version="1"] .tag:text("production")');
      await page.click('tr[data-version="2"] [data-action=promote]');
      await page.waitForSelector('tr[data-version="2"] .tag:text("production")');
      const alias = async () => (await kiln.request('GET', `/api/models/${modelName}`)).body.aliases.production;
      assert.equal(await alias(), 2);
      await page.check('input[aria-label="compare v1"]');
      await page.check('input[aria-label="compare v2"]');
      await page.waitForSelector('section:has(h2:text("Compare v1 and v2"))');
      assert.match((await page.textContent('section:has(h2:text("Compare v1 and v2"))')) ?? '', /hyperparameters\.epochs/);
      await screenshot(page, 'console-models');
      await page.click('[data-action=rollback]');
      await page.waitForSelector('tr[data-version="1"] .tag:text("production")');
      assert.equal(await alias(), 1);
      const history = (await kiln.request('GET', `/api/models/${modelName}/aliases/production/history`)).body as any[];
      assert.deepEqual(
        history.map((h) => [h.from, h.to]).sort(),
        [
          [null, 1],
          [1, 2],
          [2, 1],
        ].sort(),
      );
      await screenshot(page, 'console-models-rolled-back');
    });

    it('shows monitoring after predictions: latency over time, live vs. training, a drift verdict matching its features', async () => {
      // Live traffic on v1 (production): penguins, the heavier half shifted so that body mass drifts.
      for (let i = 0; i < 4; i++) {
        const records = penguinRecords(40, i * 40).map((r) => ({
          ...r,
          'Body Mass (g)': typeof r['Body Mass (g)'] === 'number' ? r['Body Mass (g)'] * 1.6 : null,
        }));
        const res = await kiln.request('POST', `/api/models/${modelName}/predict`, { body: { records } });
        assert.equal(res.status, 200, res.text);
      }
      const check = await kiln.request('POST', `/api/models/${modelName}/drift/check`, { headers: { prefer: 'wait=60' } });
      assert.equal(check.status, 200, check.text);
      await page.goto(`${kiln.url}/#/monitoring/${modelName}`);
      await page.waitForSelector('[data-chart="latency over time"] svg .mark-line path', { state: 'attached', timeout: 30_000 });
      // Time on the x axis: the axis title says so and its labels are clock times.
      const axis = await page.locator('[data-chart="latency over time"] svg .role-axis-title').allTextContents();
      assert.ok(axis.includes('time'), axis.join(','));
      const verdict = (await page.textContent('[data-testid=drift-verdict]')) ?? '';
      const driftedRows = await page.locator('tr.drifted').count();
      const m = /(\d+) of (\d+) features drifted/.exec(verdict);
      assert.ok(m, verdict);
      assert.equal(Number(m[1]), driftedRows, 'the verdict counts the features marked drifted');
      assert.equal(verdict.startsWith('Dataset drift'), check.body.drift === true, `${verdict} vs ${JSON.stringify(check.body.drift)}`);
      assert.ok(driftedRows >= 1, 'the shifted body mass drifts');
      assert.match((await page.locator('tr.drifted td:first-child').allTextContents()).join(','), /Body Mass/);
      await page.waitForSelector('[data-chart="drift p-values"] svg');
      await page.waitForSelector('[data-chart="histogram Body Mass (g)"] svg');
      // Readable bin labels: no scientific notation on the histogram axis.
      const labels = await page.locator('[data-chart="histogram Body Mass (g)"] svg .role-axis-label text').allTextContents();
      assert.ok(labels.length > 0 && labels.every((l) => !/e[+-]?\d/.test(l)), labels.join(' | '));
      await screenshot(page, 'console-monitoring');
      // The old server-rendered page now leads here.
      await page.goto(`${kiln.url}/monitoring/${modelName}`);
      await page.waitForURL(new RegExp(`#/monitoring/${modelName}$`));
    });

    it('verifies the audit log and lists predictions and events', async () => {
      await page.goto(`${kiln.url}/#/audit`);
      await page.click('text=Verify hash chains');
      await page.waitForSelector('[data-testid=verify-result]', { timeout: 60_000 });
      assert.match((await page.textContent('[data-testid=verify-result]')) ?? '', /verifies/);
      await eventually(async () =>
        (await page.locator(`section:has(h2:text("Predictions")) td:text("${modelName}")`).count()) > 0 ? true : undefined,
      );
      assert.ok((await page.locator('section:has(h2:text("Events")) td:text("alias.moved")').count()) >= 1);
      await screenshot(page, 'console-audit');
    });

    it('lets the admin create a key, and shows a predictor signed in with it no data views and no write or admin actions', async () => {
      await page.goto(`${kiln.url}/#/keys`);
      await page.fill('input[name=keyName]', 'console-predictor');
      await page.selectOption('select[name=keyRole]', 'predictor');
      await page.click('text=Create key');
      const key = (await page.textContent('[data-testid=created-key] code', { timeout: 10_000 })) ?? '';
      assert.match(key, /^kiln_[A-Za-z0-9]{12}_/);
      await page.waitForSelector('td:text("console-predictor")');
      await screenshot(page, 'console-keys');
      const p = await signIn(key);
      assert.deepEqual(await p.locator('nav.top a').allTextContents(), ['Models']);
      await p.goto(`${kiln.url}/#/models/${modelName}`);
      await p.waitForSelector('tr[data-version="2"]');
      assert.equal(await p.locator('[data-action=promote], [data-action=rollback]').count(), 0);
      assert.equal(await p.getByText('Edit deployment').count(), 0);
      await screenshot(p, 'console-predictor');
      await p.close();
    });
  });
})();
