/**
 * The browser harness itself (test/utils/browser.ts): Debian's Chromium starts headless under
 * playwright-core, renders Kiln's own problem+json for an unknown page, and a screenshot is written.
 * Console, Swagger UI and queue-dashboard tests build on it.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { openBrowser, screenshot, skipUnlessBrowser } from '../utils/browser';
import { startTestKiln, type TestKiln } from '../utils/test-kiln';

describe('browser harness', { skip: skipUnlessBrowser() }, () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestKiln('embedded');
  });
  after(async () => {
    await kiln?.close();
  });

  it('loads a Kiln page in headless Chromium and saves a screenshot', async () => {
    const browser = await openBrowser();
    try {
      const page = await browser.newPage();
      const response = await page.goto(`${kiln.url}/health/live`);
      assert.equal(response?.status(), 200);
      assert.match(await page.content(), /ok|up/i);
      const path = await screenshot(page, 'harness-health-live');
      assert.ok(existsSync(path) && statSync(path).size > 1000, `screenshot ${path} written`);
    } finally {
      await browser.close();
    }
  });
});
