import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

export const MIGRATIONS_TABLE = 'kiln_migrations';

/**
 * Connection options shared by the app (TypeOrmModule), the `npm run migrate` command and the audit
 * chainer's thread (its own small pool under its own application name).
 */
export function dataSourceOptions(url: string, pool: { applicationName?: string; max?: number } = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    applicationName: pool.applicationName ?? 'kiln',
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    // The schema changes only through migrations/, never from entity metadata.
    synchronize: false,
    migrationsRun: false,
    extra: { max: pool.max ?? 20, connectionTimeoutMillis: 10_000 },
  };
}
