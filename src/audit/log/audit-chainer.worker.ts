/**
 * The audit chainer's thread (started by audit-chainer.service.ts): the StagedChainer loop with a
 * connection pool of its own, so claiming staged batches, canonicalising and hashing their records
 * and writing the chains never take a turn of the serving event loop.
 *
 * Messages from the host: `poke` (a batch was staged here), `stop` (finish the pass, close, exit).
 * To the host: `log` lines (written through the host's logger) and `stopped`. Two flags are shared
 * with the host (no message round trip): PAUSED, read before every pass, so `AuditChainer.pause()`
 * holds records back from the next pass on; WAITING, set while the thread waits idle, so the host
 * posts a `poke` only then (once per idle wait, not once per staged batch: under load the thread
 * never waits idle, and a message per group commit cost the serving loop about 2.5 %).
 */
import 'reflect-metadata';
import { Logger, type LoggerService } from '@nestjs/common';
import { parentPort, workerData } from 'node:worker_threads';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../platform/database/data-source-options';
import { AuditLogWriter } from './audit-log.writer';
import { type ChainerHostMessage, type ChainerWorkerData, type ChainerWorkerMessage } from './chainer-thread';
import { nameThisThread } from '../../platform/util/thread-name';
import { StagedChainer } from './staged-chainer';

/** A log call's first argument as something structured clone can carry (errors keep message, code and stack). */
function cloneable(value: unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object') return null;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      v instanceof Error ? { message: v.message, code: (v as { code?: unknown }).code, stack: v.stack } : v,
    ]),
  );
}

/**
 * Every Nest Logger of this thread (the chainer's, the writer's) hands its lines to the host thread,
 * which owns the process's logger. Nest calls it as (first, [second,] context).
 */
const toHost: LoggerService = Object.fromEntries(
  (['error', 'warn', 'log', 'debug', 'verbose'] as const).map((level) => [
    level,
    (first: unknown, ...rest: unknown[]) => {
      const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : 'AuditChainer';
      const fields = cloneable(first);
      const message = fields ? rest[0] : first;
      parentPort!.postMessage({ type: 'log', level, context, message, fields } satisfies ChainerWorkerMessage);
    },
  ]),
) as unknown as LoggerService;

async function main(): Promise<void> {
  nameThisThread('kiln-chainer');
  Logger.overrideLogger(toHost);
  const data = workerData as ChainerWorkerData;
  // One connection: every pass, its slow path included, is one transaction.
  const db = await new DataSource(dataSourceOptions(data.databaseUrl, { applicationName: 'kiln-audit-chainer', max: 1 })).initialize();
  const chainer = new StagedChainer(db, new AuditLogWriter(db), new Int32Array(data.flags));
  parentPort!.on('message', (m: ChainerHostMessage) => {
    if (m.type === 'poke') chainer.poke();
    else if (m.type === 'stop') {
      void chainer
        .stop()
        .then(() => db.destroy())
        .finally(() => {
          parentPort!.postMessage({ type: 'stopped' } satisfies ChainerWorkerMessage);
          parentPort!.close();
        });
    }
  });
  chainer.start();
}

void main().catch((err: unknown) => {
  // the host sees the thread exit and starts another one after a pause
  toHost.error({ err }, 'audit chainer thread could not start', 'AuditChainer');
  process.exit(1);
});
