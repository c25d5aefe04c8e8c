/**
 * Kiln as a child process for the serving benchmark (`node dist/src/main.js`, what `npm start`
 * runs; see test/utils/spawn-kiln.ts), so the load generator in the bench process does not share
 * an event loop with the server. Also the small JSON client the bench uses for setup calls.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { graphImportForm, HALF_PLUS_TWO_SIGNATURE, halfPlusTwo } from '../../test/support/tfjs/serving-fixtures';
import { MAIN } from '../../test/utils/spawn-kiln';

/**
 * A bench's Kiln child environment: a fresh data dir and admin key, its own queue prefix, quiet logs,
 * the wasm backend unless KILN_TF_BACKEND says otherwise, the prediction log off, DATABASE_URL and
 * REDIS_URL when set. Other KILN_* settings of this shell reach the server (e.g. KILN_AUDIT=on for an
 * A/B run); the ones fixed here (port, host, data dir, admin key, logs, queue prefix) win.
 */
export function benchKilnEnv(
  name: string,
  queuePrefix: string,
): { env: Record<string, string>; dataDir: string; adminKey: string; fromShell: Record<string, string> } {
  const dataDir = mkdtempSync(join(tmpdir(), `kiln-bench-${name}-`));
  const adminKey = `kiln_${randomBytes(6).toString('hex')}_${randomBytes(24).toString('base64url')}`;
  const passed = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith('KILN_') && e[0] !== 'KILN_ADMIN_KEY' && e[1] !== undefined,
    ),
  );
  const env: Record<string, string> = {
    // The serving cells measure the data plane alone; a bench that wants the audit turns it on.
    KILN_AUDIT: 'off',
    ...passed,
    PORT: '0',
    HOST: '127.0.0.1',
    KILN_DATA_DIR: dataDir,
    KILN_ADMIN_KEY: adminKey,
    KILN_LOG_LEVEL: 'warn',
    KILN_QUEUE_PREFIX: `${queuePrefix}${randomBytes(3).toString('hex')}`,
    KILN_TF_BACKEND: process.env.KILN_TF_BACKEND ?? 'wasm',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  };
  return { env, dataDir, adminKey, fromShell: passed };
}

export interface KilnChild {
  url: string;
  pid: number;
  /** SIGTERM and wait for the exit (graceful shutdown; a --cpu-prof profile is written then). */
  stop(): Promise<number | null>;
}

/**
 * Spawns `node [nodeArgs] dist/src/main.js` (or another build's `main`; as test/utils/spawn-kiln.ts does, plus Node flags:
 * `--cpu-prof` is not allowed in NODE_OPTIONS) and waits for /health/ready.
 */
export async function startKilnChild(env: Record<string, string>, nodeArgs: string[] = [], main = MAIN): Promise<KilnChild> {
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`kiln exited (${code}) before listening:\n${out.slice(-2000)}`)));
  });
  for (const deadline = Date.now() + 60_000; ;) {
    const res = await fetch(`${url}/health/ready`).catch(() => null);
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`Kiln not ready after 60 s:\n${out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export type Api = (method: string, path: string, body?: unknown) => Promise<any>;

/** JSON calls with a key; a status ≥ 400 throws with the body. */
export function apiClient(baseUrl: string, key: string): Api {
  return async (method, path, body) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  };
}

/** Polls `f` until it returns a value. */
export async function until<T>(f: () => Promise<T | undefined>, intervalMs: number, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Imports TF Serving's half_plus_two (a trivial graph: the model's time is next to nothing) as `model`
 * version 1 behind the alias production.
 */
export async function importHalfPlusTwo(url: string, key: string, model = 'half_plus_two'): Promise<void> {
  const form = graphImportForm(halfPlusTwo(), HALF_PLUS_TWO_SIGNATURE);
  const headers = { authorization: `Bearer ${key}` };
  const res = await fetch(`${url}/api/models/${model}/versions`, { method: 'POST', headers, body: form });
  if (res.status !== 201) throw new Error(`import: ${res.status} ${await res.text()}`);
  await apiClient(url, key)('PUT', `/api/models/${model}/aliases/production`, { version: 1 });
}
