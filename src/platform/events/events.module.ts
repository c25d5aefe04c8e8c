import { DynamicModule, Global, Module } from '@nestjs/common';
import { CHANGE_EVENTS_DATABASE_URL, ChangeEvents } from './change-events';

/** One LISTEN connection per process for the change events (see change-events.ts); global, like the config. */
@Global()
@Module({})
export class EventsModule {
  static forRoot(databaseUrl: string): DynamicModule {
    return {
      module: EventsModule,
      providers: [{ provide: CHANGE_EVENTS_DATABASE_URL, useValue: databaseUrl }, ChangeEvents],
      exports: [ChangeEvents],
    };
  }
}
