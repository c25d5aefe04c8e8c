import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { runMigrationsLocked } from './migrate';

/**
 * TypeORM on PostgreSQL; pending migrations are applied (under an advisory lock) before anything uses it.
 *
 * One registration under the default name, once per app. @nestjs/typeorm keeps its registry of data
 * source names (and of autoloaded entities) per process, not per app, and a name stays registered until
 * its app shuts down: a process hosting two Kiln apps at the same time, which only tests do (a split
 * deployment in one process: test/split/*, the training worker of test/training/jobs-api), gets the
 * registry's "A data source with the default name is already registered" warning, harmlessly (each app has
 * its own DataSource and container). It is logged through Nest's process-wide static logger, which the
 * first app of the process installed, so it carries that app's roles. A process started by `npm start`
 * or `apps/<app>/main.ts` hosts one app and never logs it (test/platform/apps.e2e-spec.ts, process.e2e-spec.ts).
 */
@Module({})
export class DatabaseModule {
  static forRoot(databaseUrl: string): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          // The database was already reached once at start-up (bootstrap), so few retries are needed here.
          useFactory: () => ({ ...dataSourceOptions(databaseUrl), autoLoadEntities: true, retryAttempts: 3, retryDelay: 1000 }),
          dataSourceFactory: async (options) => {
            const dataSource = await new DataSource(options!).initialize();
            await runMigrationsLocked(dataSource);
            return dataSource;
          },
        }),
      ],
    };
  }
}
