import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { EpochProgress } from '../ml';
import type { EndsStreamsOnShutdown } from '../platform/lifecycle/run-process';
import { FINAL_STATUSES, type TrainingJobStatus } from './training-job.entity';

/** What the stream reads of a job: its row, or the job as the API shows it (a split gateway reads it over the transport). */
export interface StreamedJob {
  status: TrainingJobStatus;
  history: EpochProgress[];
}

/** How often an open event stream re-reads the job row. */
export const EVENTS_POLL_MS = 250;
/** A `heartbeat` event after this long without another event: the client knows the stream and the job are alive. */
export const EVENTS_HEARTBEAT_MS = 5_000;

export interface JobEventSource<J extends StreamedJob = StreamedJob> {
  /** The current job (throws when it disappeared). */
  read(): Promise<J>;
  /** The body of the final event (the job as GET /api/training-jobs/:id shows it). */
  render(job: J): Promise<unknown>;
  /** Where a queued job stands in the queue (1 = next to start) and how many jobs run now. */
  position(job: J): Promise<{ position: number; running: number }>;
}

/**
 * Server-sent events of one training job: while it waits, `queued` {position, running} each time its
 * place changes; `progress` per epoch (SSE id = the epoch), then one final `succeeded` | `failed` |
 * `cancelled` event whose data is the job, and the stream ends. A `heartbeat` {status, at} follows every
 * EVENTS_HEARTBEAT_MS without another event (a named event, so browser EventSource clients see it too).
 *
 * The stream follows the job ROW, polled every EVENTS_POLL_MS, not in-process events: the worker
 * may run in another process (split deployment) and the row is the state anyway. A client that
 * reconnects with `Last-Event-ID: <epoch>` gets only later epochs. A job that already finished
 * gets its epochs and final event at once. The poll stops when the client disconnects and every
 * open stream is ended when the application starts shutting down (else the HTTP server would wait for it).
 */
@Injectable()
export class TrainingJobEvents implements OnModuleDestroy, EndsStreamsOnShutdown {
  private readonly logger = new Logger(TrainingJobEvents.name);
  private readonly open = new Set<() => void>();

  /** Streams into a raw response whose head has not been written yet; resolves when the stream ends. */
  async stream<J extends StreamedJob>(raw: ServerResponse, source: JobEventSource<J>, lastEventId?: string): Promise<void> {
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.flushHeaders?.();
    let lastEpoch = Number.parseInt(lastEventId ?? '', 10);
    if (!Number.isFinite(lastEpoch)) lastEpoch = 0;
    let ended = false;
    let wake: (() => void) | null = null;
    const stop = (): void => {
      if (ended) return;
      ended = true;
      wake?.();
    };
    raw.on('close', stop);
    this.open.add(stop);
    const write = (event: string, data: unknown, id?: number): void => {
      if (ended || raw.writableEnded || raw.destroyed) return;
      raw.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    raw.write('retry: 1000\n\n');
    let lastWrite = Date.now();
    let lastPosition = '';
    try {
      while (!ended) {
        const job = await source.read();
        if (job.status === 'queued') {
          const place = await source.position(job);
          const key = `${place.position}/${place.running}`;
          if (key !== lastPosition) {
            write('queued', { status: 'queued', ...place });
            lastPosition = key;
            lastWrite = Date.now();
          }
        }
        for (const p of [...job.history].sort((a: EpochProgress, b: EpochProgress) => a.epoch - b.epoch)) {
          if (p.epoch > lastEpoch) {
            write('progress', p, p.epoch);
            lastEpoch = p.epoch;
            lastWrite = Date.now();
          }
        }
        if (FINAL_STATUSES.includes(job.status)) {
          write(job.status, await source.render(job));
          break;
        }
        if (Date.now() - lastWrite >= EVENTS_HEARTBEAT_MS) {
          write('heartbeat', { status: job.status, at: new Date().toISOString() });
          lastWrite = Date.now();
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, EVENTS_POLL_MS);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
    } catch (e) {
      this.logger.warn({ err: e }, 'training job event stream stopped');
      write('error', { title: 'event stream interrupted', detail: (e as Error)?.message ?? String(e) });
    } finally {
      this.open.delete(stop);
      raw.off('close', stop);
      if (!raw.writableEnded) raw.end();
    }
  }

  /** Ends every open stream; the shutdown drain calls it before closing the HTTP server. */
  endStreamsForShutdown(): void {
    for (const stop of [...this.open]) stop();
  }

  onModuleDestroy(): void {
    this.endStreamsForShutdown();
  }
}
