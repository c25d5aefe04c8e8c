import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { AuthModule } from './auth/auth.module';
import { KILN_CONFIG, KilnConfig } from './config/kiln-config';
import { DatabaseModule } from './database/database.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { JsonBodyDialects } from './http/json-body';
import { ErrorFormats } from './http/problem-details';
import { loggerParams } from './logging/logging';
import { MetricsModule } from './metrics/metrics.module';
import { PlatformController } from './platform.controller';
import type { QueueConnection } from './queues/queue-backend';
import { QueuesModule } from './queues/queues.module';
import { RpcModule } from './rpc/rpc.module';

/** What start-up resolved before Nest was created: the database URL (embedded or not) and the queue backend. */
export interface PlatformRuntime {
  databaseUrl: string;
  queue: QueueConnection;
}

/**
 * The shared kernel every role imports: configuration, logging, database, queues, artifacts, auth,
 * RPC clients, health and metrics. `ErrorFormats` and `JsonBodyDialects` are global so a domain can register its own
 * error body format and JSON body dialect for a route prefix (the serving protocols: `{"error"}`, NaN tokens).
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: KilnConfig, runtime: PlatformRuntime): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        LoggerModule.forRoot(loggerParams(config)),
        DatabaseModule.forRoot(runtime.databaseUrl),
        EventsModule.forRoot(runtime.databaseUrl),
        QueuesModule.forRoot(runtime.queue),
        ArtifactsModule.forRoot(config.artifacts),
        AuthModule.forRoles(config.roles),
        RpcModule.forRoot(config),
        HealthModule,
        MetricsModule.forRoot(config.metrics),
      ],
      controllers: [PlatformController],
      providers: [
        { provide: KILN_CONFIG, useValue: config },
        { provide: ErrorFormats, useValue: new ErrorFormats() },
        { provide: JsonBodyDialects, useValue: new JsonBodyDialects() },
      ],
      exports: [KILN_CONFIG, ErrorFormats, JsonBodyDialects, AuthModule],
    };
  }
}
