import { ConnectionOptions, createPostgresBackend, runMigrations, setDefaultBackendFactory } from 'bullmq';
import { Client } from 'pg';
import type { PostgresConnectionOptions } from 'bullmq';
import type { KilnConfig } from '../config/kiln-config';

/** Schema that holds BullMQ's tables when the queues run on PostgreSQL. */
export const BULLMQ_PG_SCHEMA = 'bullmq';

export interface QueueConnection {
  backend: 'redis' | 'postgres';
  connection: ConnectionOptions | PostgresConnectionOptions;
  /** Redis key prefix (ignored by the PostgreSQL backend, which namespaces by schema). */
  prefix: string;
}

/**
 * Chooses BullMQ's backend for this process: Redis when `REDIS_URL` is set, otherwise BullMQ's own
 * PostgreSQL backend on Kiln's database (embedded included). The factory is process-wide in BullMQ,
 * so it is set once here, before any Queue or Worker exists; the rest of the code is identical.
 */
export function configureQueueBackend(config: KilnConfig, databaseUrl: string): QueueConnection {
  if (config.queues.backend === 'redis') {
    setDefaultBackendFactory(undefined);
    const url = new URL(config.queues.redisUrl!);
    return {
      backend: 'redis',
      prefix: config.queues.prefix,
      connection: {
        host: url.hostname,
        port: Number(url.port || 6379),
        username: url.username || undefined,
        password: url.password ? decodeURIComponent(url.password) : undefined,
        db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
        tls: url.protocol === 'rediss:' ? {} : undefined,
        // Required by BullMQ workers: blocking commands must not be retried by ioredis itself.
        maxRetriesPerRequest: null,
      },
    };
  }
  setDefaultBackendFactory(createPostgresBackend as never);
  return {
    backend: 'postgres',
    prefix: config.queues.prefix,
    connection: { connectionString: databaseUrl, schema: BULLMQ_PG_SCHEMA, max: 10 },
  };
}

/**
 * Creates or upgrades BullMQ's own tables (schema `bullmq`) when the queues run on PostgreSQL.
 * BullMQ serialises concurrent starters with its own advisory lock, in one transaction.
 */
export async function migrateQueueSchema(databaseUrl: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await runMigrations(client, BULLMQ_PG_SCHEMA);
  } finally {
    await client.end();
  }
}
