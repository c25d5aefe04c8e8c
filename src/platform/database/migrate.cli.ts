/**
 * `npm run migrate`: applies pending migrations (Kiln's, and BullMQ's when the queues run on
 * PostgreSQL) to DATABASE_URL, or to the embedded PostgreSQL under KILN_DATA_DIR. Start-up does the
 * same automatically; this is for deploy pipelines that migrate before rolling out replicas.
 */
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../config/kiln-config';
import { StartupError } from '../lifecycle/startup-checks';
import { createRootLogger } from '../logging/logging';
import { migrateQueueSchema } from '../queues/queue-backend';
import { dataSourceOptions } from './data-source-options';
import { EmbeddedPostgresServer } from './embedded-postgres';
import { runMigrationsLocked } from './migrate';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createRootLogger(config);
  const embedded = config.database.mode === 'embedded' ? new EmbeddedPostgresServer(config.dataDir, logger) : undefined;
  const url = embedded ? await embedded.start() : config.database.url!;
  try {
    const dataSource = await new DataSource(dataSourceOptions(url)).initialize();
    try {
      const applied = await runMigrationsLocked(dataSource);
      logger.info({ applied: applied.map((m) => m.name) }, applied.length ? 'migrations applied' : 'schema up to date');
    } finally {
      await dataSource.destroy();
    }
    if (config.queues.backend === 'postgres') await migrateQueueSchema(url);
  } finally {
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof StartupError;
  process.stderr.write(`kiln migrate: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
