import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Global, Module } from '@nestjs/common';
import type { ConnectionOptions } from 'bullmq';
import { QueueName } from '../../contracts';
import { QueueConnection } from './queue-backend';
import { QueueInspector } from './queue-inspector';

export const QUEUE_CONNECTION = Symbol('QUEUE_CONNECTION');

/**
 * Default retry policy for every job: exponential backoff with explicit attempts; failed jobs are
 * kept (capped) for inspection. A job may override it; permanent failures throw UnrecoverableError.
 */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { count: 1_000, age: 7 * 24 * 3600 },
  removeOnFail: { count: 10_000 },
} as const;

/**
 * Every process can produce on every queue: all queues are registered here. Only the roles that
 * own a queue import its `*.workers.module.ts` (processors only).
 */
@Global()
@Module({})
export class QueuesModule {
  static forRoot(queue: QueueConnection): DynamicModule {
    const queues = BullModule.registerQueue(...Object.values(QueueName).map((name) => ({ name })));
    return {
      module: QueuesModule,
      imports: [
        BullModule.forRoot({
          // The PostgreSQL backend takes a pg pool config here; @nestjs/bullmq types it as Redis options.
          connection: queue.connection as ConnectionOptions,
          prefix: queue.prefix,
          defaultJobOptions: DEFAULT_JOB_OPTIONS,
        }),
        queues,
      ],
      providers: [{ provide: QUEUE_CONNECTION, useValue: queue }, QueueInspector],
      exports: [queues, QUEUE_CONNECTION, QueueInspector],
    };
  }
}
