import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AdminEventRecord } from '../contracts';
import { bounded } from './admin-event-values';
import { AuditSink } from './audit-sink';
import { toJsonSafe } from './chain';

/** Outbox rows handed on per pass. */
const RELAY_BATCH = 500;
/** How often every process looks for rows no request relayed (a crash after commit, a lost race). */
export const RELAY_INTERVAL_MS = 1_000;

/**
 * Relays the admin-event outbox (src/platform/audit-trail/admin-event-outbox.ts) to the audit log.
 *
 * Rows held for a job that is being queued (src/platform/queues/commit-then-enqueue.ts) wait until
 * released or until their hold expires.
 *
 * One pass = one transaction: lock up to RELAY_BATCH rows (`FOR UPDATE SKIP LOCKED`, so replicas
 * share the work and never send a row twice at once), hand them to the AuditSink (durable in the
 * queue backend when it resolves), delete them, commit. A process killed after the queue write but
 * before the commit sends the row again later; the audit writer drops it by event id, so every
 * event is in the chain exactly once. Runs after each outbox-marked request (so the event is queued
 * before the client gets its answer, as for every other admin event) and every RELAY_INTERVAL_MS.
 */
@Injectable()
export class AdminEventRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AdminEventRelay');
  private timer: NodeJS.Timeout | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly sink: AuditSink,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => {
        this.logger.warn({ err }, 'admin-event outbox relay failed; retried next pass');
      });
    }, RELAY_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.tail.catch(() => undefined);
  }

  /** Relays every row visible now (passes are serialised per process); resolves to the rows relayed. */
  flush(): Promise<number> {
    const run = this.tail.catch(() => undefined).then(() => this.drain());
    this.tail = run;
    return run;
  }

  private async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.pass();
      total += n;
      if (n < RELAY_BATCH) return total;
    }
  }

  private pass(): Promise<number> {
    return this.db.transaction(async (m) => {
      const rows = (await m.query(
        `SELECT event_id, record FROM admin_event_outbox WHERE held_until IS NULL OR held_until < now()
          ORDER BY created_at, event_id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [RELAY_BATCH],
      )) as Array<{ event_id: string; record: string }>;
      if (rows.length === 0) return 0;
      await Promise.all(
        rows.map((row) => {
          const r = JSON.parse(row.record) as AdminEventRecord;
          return this.sink.recordEvent({
            ...r,
            target: toJsonSafe(r.target ?? {}) as Record<string, unknown>,
            before: bounded(r.before ?? null),
            after: bounded(r.after ?? null),
          });
        }),
      );
      await m.query(`DELETE FROM admin_event_outbox WHERE event_id = ANY($1::uuid[])`, [rows.map((r) => r.event_id)]);
      return rows.length;
    });
  }
}
