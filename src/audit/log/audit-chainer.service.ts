import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DataSource } from 'typeorm';
import { AuditStaging } from '../audit-staging';
import { AuditLogWriter } from './audit-log.writer';
import {
  BUSY,
  CHAINER_FLAGS_BYTES,
  PAUSED,
  WAITING,
  type ChainerHostMessage,
  type ChainerWorkerData,
  type ChainerWorkerMessage,
} from './chainer-thread';
import { RETRY_MS, StagedChainer } from './staged-chainer';

/** How long a stopping chainer thread may take to finish its pass before it is terminated (the pass then rolls back). */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Moves staged audit batches (`audit_staging`) into the hash chains, in processes with the `audit`
 * role: the StagedChainer loop (staged-chainer.ts) runs in a worker thread of its own
 * (audit-chainer.worker.ts, with its own connections), so canonicalising, hashing and the log's
 * writes take no turn of the event loop that serves predictions in the all-in-one process (they took
 * about a quarter of it under load). Without the compiled worker file (running from sources) the
 * loop runs on this thread instead.
 *
 * The thread is woken by this process's AuditSink (AuditStaging.onStaged → a `poke` message). When it
 * dies (an uncaught error, out of memory, terminated), another one is started after RETRY_MS: a pass
 * cut short rolls back with its connection, so its rows are staged still and the next thread chains
 * them. `pause()` / `resume()` flip a flag shared with the thread, read before every pass.
 */
@Injectable()
export class AuditChainer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AuditChainer');
  /** Shared with the thread: PAUSED, WAITING, BUSY (chainer-thread.ts). */
  private readonly flags = new Int32Array(new SharedArrayBuffer(CHAINER_FLAGS_BYTES));
  private stopped = false;
  private thread: Worker | null = null;
  private inThread: StagedChainer | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writer: AuditLogWriter,
    staging: AuditStaging,
  ) {
    this.unsubscribe = staging.onStaged(() => this.poke());
  }

  onApplicationBootstrap(): void {
    const file = join(__dirname, 'audit-chainer.worker.js');
    if (existsSync(file)) this.startThread(file);
    else {
      this.inThread = new StagedChainer(this.db, this.writer, this.flags);
      this.inThread.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.inThread?.stop();
    const thread = this.thread;
    if (!thread) return;
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage({ type: 'stop' } satisfies ChainerHostMessage);
    const timer = setTimeout(() => void thread.terminate(), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Stops chaining (records stay staged; tests use it to hold records back): resolves once no pass
   * runs, so nothing staged after it is chained until `resume()`.
   */
  async pause(): Promise<void> {
    Atomics.store(this.flags, PAUSED, 1);
    while (Atomics.load(this.flags, BUSY) === 1) await new Promise((r) => setTimeout(r, 5));
  }

  resume(): void {
    Atomics.store(this.flags, PAUSED, 0);
    this.poke();
  }

  /** The chainer's thread (null when chaining on this thread); tests terminate it to check a new one takes over. */
  get worker(): Worker | null {
    return this.thread;
  }

  /** Wakes an idle chainer (a busy one takes what was staged with its next pass anyway). */
  private poke(): void {
    if (this.thread && Atomics.compareExchange(this.flags, WAITING, 1, 0) === 1) {
      this.thread.postMessage({ type: 'poke' } satisfies ChainerHostMessage);
    }
    this.inThread?.poke();
  }

  private startThread(file: string): void {
    const workerData: ChainerWorkerData = {
      databaseUrl: (this.db.options as { url: string }).url,
      flags: this.flags.buffer as SharedArrayBuffer,
    };
    const thread = new Worker(file, { workerData });
    this.thread = thread;
    thread.on('message', (m: ChainerWorkerMessage) => {
      if (m.type !== 'log') return;
      const logger = new Logger(m.context);
      if (m.fields) logger[m.level](m.fields, m.message);
      else logger[m.level](m.message);
    });
    thread.on('error', (err) => this.logger.error({ err }, 'audit chainer thread failed'));
    thread.on('exit', (code) => {
      if (this.thread === thread) this.thread = null;
      Atomics.store(this.flags, BUSY, 0); // its pass, if any, ended with it (rolled back)
      if (this.stopped) return;
      this.logger.error({ code }, `audit chainer thread exited; starting another in ${RETRY_MS} ms`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopped) this.startThread(file);
      }, RETRY_MS);
    });
  }
}
