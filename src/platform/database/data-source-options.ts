import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

export const MIGRATIONS_TABLE = 'kiln_migrations';

/** Connection options shared by the app (TypeOrmModule) and the `npm run migrate` command. */
export function dataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    applicationName: 'kiln',
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    // The schema changes only through migrations/, never from entity metadata.
    synchronize: false,
    migrationsRun: false,
    extra: { max: 20, connectionTimeoutMillis: 10_000 },
  };
}
