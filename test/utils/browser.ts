/**
 * Headless Chromium for browser tests: Debian's `chromium` driven by `playwright-core` (which never
 * downloads a browser of its own; the machine has no internet). `.ci/run` installs the package.
 *
 *   const browser = await openBrowser();            // skip reason when no chromium: see browserUnavailable()
 *   const page = await browser.newPage();
 *   ...
 *   await screenshot(page, 'console-sign-in');      // test-artifacts/screenshots/console-sign-in.png
 *   await browser.close();
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Debian puts Chromium; KILN_TEST_CHROMIUM overrides it. */
export const CHROMIUM_PATH = process.env.KILN_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a root, offline, sandboxed CI machine: without the background-networking ones Chromium keeps dialling Google. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots land here (git-ignored); CI keeps them as artifacts to check by eye. */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-artifacts', 'screenshots');

/** Why browser tests cannot run here, or null when they can. Under KILN_TEST_REQUIRE_ALL a test must fail instead of skipping. */
export function browserUnavailable(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`;
}

/** Skip reason for node:test's `skip` option; throws under KILN_TEST_REQUIRE_ALL (CI) so a missing browser fails loudly. */
export function skipUnlessBrowser(): string | false {
  const reason = browserUnavailable();
  if (reason && process.env.KILN_TEST_REQUIRE_ALL === '1') throw new Error(`browser tests required: ${reason}`);
  return reason ?? false;
}

export async function openBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** Saves a full-page PNG under test-artifacts/screenshots and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
