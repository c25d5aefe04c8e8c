import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Gauge } from 'prom-client';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { AuditRecordBatchPayload } from '../contracts';
import { KILN_CONFIG, type KilnConfig } from '../platform/config/kiln-config';
import { MetricsService } from '../platform/metrics/metrics.service';
import { STAGE_SQL, type StagingHostMessage, type StagingWorkerData, type StagingWorkerMessage } from './staging-thread';

const THREAD_FILE = join(__dirname, 'audit-staging.worker.js');

/**
 * The audit log's durable intake (table `audit_staging`, migration 1764900000000): one group commit =
 * one row = one INSERT, one PostgreSQL commit. When `stage` resolves the records are as durable as a
 * queue job was, for a fraction of a queue job's round trips (no job lifecycle: add, claim, complete,
 * events). The audit worker's chainer (log/audit-chainer.service.ts) moves the rows into the hash
 * chains, in bulk and in order, off the request path; in a process that also chains (the `audit`
 * role) it is woken at once through `onStaged`, others rely on its short poll.
 *
 * `/metrics` shows the backlog: kiln_audit_staged_records (records not chained yet) and
 * kiln_audit_staged_oldest_seconds (age of the oldest); refused rows are left out of both.
 */
/** Pause before a staging thread that died (or could not connect) is replaced, doubling up to the max. */
const THREAD_RETRY_MS = 500;
const THREAD_RETRY_MAX_MS = 30_000;
/** How long a stopping staging thread may take to finish its INSERTs before it is terminated. */
const STOP_TIMEOUT_MS = 10_000;

class StagingThreadExited extends Error {
  constructor(code: number) {
    super(`the audit staging thread exited (code ${code}) before answering`);
  }
}

type Waiting = { resolve(): void; reject(e: unknown): void };

@Injectable()
export class AuditStaging implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('AuditStaging');
  private readonly listeners = new Set<() => void>();
  private pgPool: Pool | undefined;
  /** The staging thread, once it reported a connection; until then (and while it is replaced) batches go to `pool()`. */
  private thread: Worker | null = null;
  private starting: Worker | null = null;
  /** Batches handed to the thread and not answered yet, by id. */
  private readonly handed = new Map<number, Waiting>();
  private nextId = 0;
  private retryMs = THREAD_RETRY_MS;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    metrics: MetricsService,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
  ) {
    const backlog = () =>
      this.db.query(
        `SELECT COALESCE(SUM(records), 0)::bigint AS records,
                COALESCE(EXTRACT(EPOCH FROM now() - MIN(staged_at)), 0)::float8 AS oldest
           FROM audit_staging WHERE refused_at IS NULL`,
      ) as Promise<Array<{ records: string; oldest: number }>>;
    let pending: Promise<Array<{ records: string; oldest: number }>> | null = null;
    // One query per scrape for both gauges.
    const read = () => (pending ??= backlog().finally(() => setImmediate(() => (pending = null))));
    new Gauge({
      name: 'kiln_audit_staged_records',
      help: 'Audit records durable in audit_staging, not yet in the hash-chained log (the chainer backlog)',
      registers: [metrics.registry],
      async collect() {
        const rows = await read().catch(() => null);
        if (rows) this.set(Number(rows[0]?.records ?? 0));
      },
    });
    new Gauge({
      name: 'kiln_audit_staged_oldest_seconds',
      help: 'Age of the oldest audit batch not yet chained (0 when the log has caught up)',
      registers: [metrics.registry],
      async collect() {
        const rows = await read().catch(() => null);
        if (rows) this.set(Number(rows[0]?.oldest ?? 0));
      },
    });
  }

  /**
   * The staging thread (audit-staging.worker.ts) with the prediction log on, when compiled (not when
   * running from sources). Serving does not wait for it: until it reports a connection, batches are
   * staged on this thread's pool.
   */
  onModuleInit(): void {
    if (this.config.audit.enabled && existsSync(THREAD_FILE)) this.startThread();
  }

  /** Drain: the batches handed to the thread are answered before it closes its pool and exits. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const thread = this.thread ?? this.starting;
    this.thread = this.starting = null;
    if (!thread) return;
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage('stop' satisfies StagingHostMessage);
    const timer = setTimeout(() => void thread.terminate(), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Stores one group commit (one row, one commit); resolves once it is durable. On the staging
   * thread when it runs (this thread only serialises the batch and posts the text), else straight on
   * the pg pool TypeORM holds (no query runner per call). Either way a named prepared statement
   * (parsed once per connection).
   */
  async stage(payload: AuditRecordBatchPayload): Promise<void> {
    const records = (payload.predictions?.length ?? 0) + (payload.events?.length ?? 0);
    const text = JSON.stringify(payload);
    const thread = this.thread;
    if (!thread) await this.stageHere(records, text);
    else {
      const id = this.nextId++;
      await new Promise<void>((resolve, reject) => {
        this.handed.set(id, { resolve, reject });
        thread.postMessage([id, records, text] satisfies StagingHostMessage);
      }).catch((err: unknown) => {
        // The thread died with the batch: it may or may not be committed, so it is staged again here
        // (a record staged twice is chained once: the writer drops ids already logged).
        if (err instanceof StagingThreadExited) return this.stageHere(records, text);
        throw err;
      });
    }
    for (const wake of this.listeners) wake();
  }

  private async stageHere(records: number, text: string): Promise<void> {
    await this.pool().query({ name: 'kiln-audit-stage', text: STAGE_SQL, values: [records, text] });
  }

  /** The staging thread when it is serving batches (tests terminate it to check what survives). */
  get worker(): Worker | null {
    return this.thread;
  }

  private startThread(): void {
    const workerData: StagingWorkerData = { databaseUrl: (this.db.options as { url: string }).url, connections: 2 };
    const thread = new Worker(THREAD_FILE, { workerData });
    this.starting = thread;
    thread.on('message', (m: StagingWorkerMessage) => {
      if (m === 'ready') {
        if (this.starting !== thread) return;
        this.starting = null;
        this.thread = thread;
        this.retryMs = THREAD_RETRY_MS;
        return;
      }
      const waiting = this.handed.get(m[0]);
      if (!waiting) return;
      this.handed.delete(m[0]);
      if (m.length === 1) waiting.resolve();
      else waiting.reject(Object.assign(new Error(m[1]), { code: m[2] }));
    });
    thread.on('error', (err) => this.logger.error({ err }, 'audit staging thread failed'));
    thread.on('exit', (code) => {
      if (this.thread === thread) this.thread = null;
      if (this.starting === thread) this.starting = null;
      // Whatever it had not acknowledged may or may not be committed: `stage` stages it again here.
      const lost = [...this.handed.values()];
      this.handed.clear();
      const failure = new StagingThreadExited(code);
      for (const w of lost) w.reject(failure);
      if (this.stopped) return;
      this.logger.error(
        { code, batches: lost.length },
        `audit staging thread exited; staging on the serving thread, another in ${this.retryMs} ms`,
      );
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopped) this.startThread();
      }, this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, THREAD_RETRY_MAX_MS);
    });
  }

  private pool(): Pool {
    return (this.pgPool ??= (this.db.driver as PostgresDriver).master as Pool);
  }

  /** Called after every batch this process staged (the chainer of this process waits on it). */
  onStaged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
