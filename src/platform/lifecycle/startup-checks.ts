import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';

/** A start-up problem worth one clear line (no stack trace): what is wrong and which setting to fix. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable>';
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { errors?: Error[] };
  // `pg` reports AggregateError (IPv4 + IPv6) with an empty message.
  if (e?.errors?.length) return e.errors.map((x) => x.message).join(', ');
  return e?.message || e?.code || String(err);
}

export async function checkDataDirWritable(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.write-probe-${process.pid}`);
    await (await open(probe, 'w')).close();
    await rm(probe, { force: true });
  } catch (err) {
    throw new StartupError(`KILN_DATA_DIR (${dir}) is not writable: ${reason(err)}`);
  }
}

export async function checkDatabaseReachable(url: string, variable = 'DATABASE_URL'): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new StartupError(`${variable}: cannot use PostgreSQL at ${redactUrl(url)}: ${reason(err)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkRedisReachable(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined); // reported below, once
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new StartupError(`REDIS_URL: cannot reach Redis at ${redactUrl(url)}: ${reason(err)}`);
  } finally {
    redis.disconnect();
  }
}
