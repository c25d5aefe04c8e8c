/**
 * The one helper for e2e tests: boots a real Kiln (same bootstrap as `npm start`) in this process
 * on a free port, on one of the three configurations, with real PostgreSQL / Redis / BullMQ.
 *
 * Configurations: `embedded` (embedded PostgreSQL, PostgreSQL queue backend), `postgres` (the
 * machine's PostgreSQL, PostgreSQL queue backend), `redis` (the machine's PostgreSQL + Redis).
 * A configuration whose services are unreachable is skipped loudly; with KILN_TEST_REQUIRE_ALL=1
 * (set by .ci/run) the skip becomes a failure. BullMQ's backend choice is process-wide, and
 * node:test runs each file in its own process, so a test file uses one configuration.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startKiln } from '../../src/bootstrap';
import { loadConfig } from '../../src/platform/config/kiln-config';
import { createRootLogger } from '../../src/platform/logging/logging';

export type TestConfiguration = 'embedded' | 'postgres' | 'redis';

export const TEST_DATABASE_URL = process.env.KILN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.KILN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TestKiln {
  app: NestFastifyApplication;
  url: string;
  adminKey: string;
  databaseUrl: string;
  dataDir: string;
  env: Record<string, string>;
  /** JSON request (a FormData body goes as multipart); `key` defaults to the admin key, `null` sends none. */
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>>;
  close(): Promise<void>;
}

/** What the request helpers need of a Kiln: a running in-process TestKiln or a spawned process. */
export type KilnClient = Pick<TestKiln, 'url' | 'adminKey' | 'request'>;

/** A client for a Kiln at `url` (e.g. a spawned process), authenticated with `adminKey` by default. */
export function kilnClient(url: string, adminKey: string): KilnClient {
  return { url, adminKey, request: (method, path, options = {}) => httpRequest(url, adminKey, method, path, options) };
}

/** Why a configuration cannot run here, or null when it can. */
export async function unavailableReason(configuration: TestConfiguration): Promise<string | null> {
  if (configuration === 'embedded') return null;
  const pg = new Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 2_000 });
  try {
    await pg.connect();
  } catch (err) {
    return `PostgreSQL at ${TEST_DATABASE_URL} is unreachable (${(err as Error).message || 'connection refused'})`;
  } finally {
    await pg.end().catch(() => undefined);
  }
  if (configuration === 'redis') {
    const redis = new Redis(TEST_REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 2_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      return `Redis at ${TEST_REDIS_URL} is unreachable (${(err as Error).message})`;
    } finally {
      redis.disconnect();
    }
  }
  return null;
}

/**
 * For `describe(name, { skip: await skipUnless(configuration) }, …)`: false when the configuration
 * can run; otherwise a loud skip message, or a thrown error when KILN_TEST_REQUIRE_ALL=1.
 */
export async function skipUnless(configuration: TestConfiguration): Promise<string | false> {
  const reason = await unavailableReason(configuration);
  if (!reason) return false;
  const message = `SKIPPED configuration "${configuration}": ${reason}`;
  if (process.env.KILN_TEST_REQUIRE_ALL === '1') throw new Error(`${message} (KILN_TEST_REQUIRE_ALL=1 forbids skipping)`);
  process.stderr.write(`\n*** ${message} ***\n\n`);
  return message;
}

/** A fresh database on the test PostgreSQL server; dropped by the returned function. */
export async function createScratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `kiln_t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function generateAdminKey(): string {
  return `kiln_${randomBytes(9).toString('hex').slice(0, 12)}_${randomBytes(24).toString('base64url')}`;
}

/** The environment a test Kiln runs with (also used to spawn `dist/src/main.js` as a child process). */
export async function testEnvironment(
  configuration: TestConfiguration,
  extra: Record<string, string> = {},
): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kiln-test-'));
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    KILN_DATA_DIR: dataDir,
    KILN_ADMIN_KEY: generateAdminKey(),
    KILN_LOG_LEVEL: process.env.KILN_TEST_LOG_LEVEL ?? 'warn',
    KILN_QUEUE_PREFIX: `kt${randomBytes(4).toString('hex')}`,
    KILN_TF_BACKEND: 'wasm',
  };
  let drop = async () => undefined as void;
  if (configuration !== 'embedded') {
    const db = await createScratchDatabase();
    env.DATABASE_URL = db.url;
    drop = db.drop;
  }
  if (configuration === 'redis') env.REDIS_URL = TEST_REDIS_URL;
  Object.assign(env, extra);
  return {
    env,
    cleanup: async () => {
      await drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startTestKiln(configuration: TestConfiguration, extraEnv: Record<string, string> = {}): Promise<TestKiln> {
  const { env, cleanup } = await testEnvironment(configuration, extraEnv);
  const config = loadConfig(env);
  const kiln = await startKiln(config, createRootLogger(config));
  let closed = false;
  return {
    app: kiln.app,
    url: kiln.url,
    adminKey: env.KILN_ADMIN_KEY!,
    databaseUrl: kiln.databaseUrl,
    dataDir: env.KILN_DATA_DIR!,
    env,
    request: (method, path, options = {}) => httpRequest(kiln.url, env.KILN_ADMIN_KEY!, method, path, options),
    close: async () => {
      if (closed) return;
      closed = true;
      await kiln.close();
      await cleanup();
    },
  };
}

export async function httpRequest<T = any>(
  baseUrl: string,
  defaultKey: string | null,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<TestResponse<T>> {
  const key = options.key === undefined ? defaultKey : options.key;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (key) headers.authorization = `Bearer ${key}`;
  let body: string | FormData | undefined;
  // A FormData body goes as multipart/form-data: fetch writes that content-type with its boundary.
  if (options.body instanceof FormData) body = options.body;
  else if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Polls `check` until it returns a value other than undefined (async assertions never sleep blindly). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
