/**
 * Swagger UI at /docs used the way a newcomer would, in headless Chromium: authorize with the admin key,
 * upload a dataset file through the file picker and execute it, then execute predict on a trained model
 * with the pre-filled example body. Screenshots go to test-artifacts/screenshots.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { openBrowser, SCREENSHOT_DIR, skipUnlessBrowser } from '../utils/browser';
import { VEGA } from '../ingestion/ingestion-helpers';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

async function openOperation(page: Page, operationId: string): Promise<ReturnType<Page['locator']>> {
  const op = page.locator(`[id$="-${operationId}"]`).first();
  await op.locator('.opblock-summary').first().click();
  await op.locator('.try-out__btn').click();
  return op;
}

async function executeAndStatus(op: ReturnType<Page['locator']>): Promise<{ status: number; body: string }> {
  await op.locator('button.execute').click();
  const row = op.locator('.live-responses-table .response').first();
  await row.waitFor({ timeout: 60_000 });
  const status = Number((await row.locator('.response-col_status').innerText()).trim());
  const body = await op.locator('.live-responses-table .response-col_description pre').first().innerText();
  return { status, body };
}

/** The operation alone (the whole page is many screens tall). */
async function shot(op: ReturnType<Page['locator']>, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await op.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) });
}

void (async () => {
  const skip = (await skipUnless('postgres')) || skipUnlessBrowser();
  describe('Swagger UI in Chromium', { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln('postgres');
    });
    after(async () => {
      await kiln?.close();
    });

    it('authorizes with the key, uploads a file with the file picker, trains, and executes predict with the example', async () => {
      const dataset = await kiln.request('POST', '/api/datasets', { body: { name: 'penguins' } });
      assert.equal(dataset.status, 201);
      const browser = await openBrowser();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(`${kiln.url}/docs`);
        await page.locator('.btn.authorize').first().click();
        const modal = page.locator('.modal-ux');
        await modal.locator('input').first().fill(kiln.adminKey);
        await modal.locator('.auth-btn-wrapper .authorize').first().click();
        await modal.locator('.btn-done, .close-modal').first().click();

        // Upload: multipart/form-data with the file picker (no required `prefer` header in the way).
        const upload = await openOperation(page, 'DatasetsController_createVersion');
        await upload.locator('tr[data-param-name="id"] input').fill(dataset.body.id);
        await upload.locator('.body-param-content-type select, .content-type-wrapper select').first().selectOption('multipart/form-data');
        const picker = upload.locator('input[type="file"]');
        assert.equal(await picker.count(), 1, 'a file picker for "file"');
        await picker.setInputFiles(join(VEGA, 'penguins.json'));
        const uploaded = await executeAndStatus(upload);
        await shot(upload, 'swagger-upload');
        assert.equal(uploaded.status, 202, uploaded.body);
        const versionId = (JSON.parse(uploaded.body) as { id: string }).id;

        await eventually(async () => {
          const v = await kiln.request('GET', `/api/datasets/${dataset.body.id}/versions/${versionId}`);
          assert.notEqual(v.body.status, 'failed');
          return v.body.status === 'ready' ? true : undefined;
        }, 60_000);
        const job = await kiln.request('POST', '/api/training-jobs', {
          body: {
            datasetVersionId: versionId,
            target: 'Species',
            modelName: 'penguins',
            hyperparameters: { epochs: 3 },
            promote: 'always',
          },
        });
        assert.equal(job.status, 202, job.text);
        await eventually(
          async () => {
            const j = await kiln.request('GET', `/api/training-jobs/${job.body.id}`);
            assert.ok(!['failed', 'cancelled'].includes(j.body.status), JSON.stringify(j.body.error));
            return j.body.status === 'succeeded' ? true : undefined;
          },
          180_000,
          250,
        );

        // Predict: path parameter and body come pre-filled from the document's examples.
        const predict = await openOperation(page, 'PredictController_predict');
        const predicted = await executeAndStatus(predict);
        await shot(predict, 'swagger-predict');
        assert.equal(predicted.status, 200, predicted.body);
        const answer = JSON.parse(predicted.body) as { model: string; predictions: Array<{ label: string }> };
        assert.equal(answer.model, 'penguins');
        assert.ok(answer.predictions.length >= 1);
        for (const p of answer.predictions) assert.ok(['Adelie', 'Chinstrap', 'Gentoo'].includes(p.label), p.label);
      } finally {
        await browser.close();
      }
    });
  });
})();
