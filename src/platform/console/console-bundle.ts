import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** URL prefix of the console's assets (Vite's `base`); the page itself is `/`. */
export const CONSOLE_ASSETS_PREFIX = '/console/';

/**
 * Where `vite build` (console/vite.config.ts) writes the bundle: `dist/console`, beside the server's `dist/src`.
 * KILN_CONSOLE_DIR overrides it (a bundle built elsewhere).
 */
export function consoleBundleDir(env: NodeJS.ProcessEnv = process.env): string {
  // this file runs as dist/src/platform/console/console-bundle.js
  return env.KILN_CONSOLE_DIR ?? join(__dirname, '..', '..', '..', 'console');
}

export function consoleBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}
