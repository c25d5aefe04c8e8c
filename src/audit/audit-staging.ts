import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { AuditRecordBatchPayload } from '../contracts';
import { MetricsService } from '../platform/metrics/metrics.service';

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
const STAGE_SQL = `INSERT INTO audit_staging (records, batch) VALUES ($1, $2)`;

@Injectable()
export class AuditStaging {
  private readonly listeners = new Set<() => void>();
  private pgPool: Pool | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    metrics: MetricsService,
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
   * Stores one group commit (one row, one commit); resolves once it is durable. Straight on the pg
   * pool TypeORM holds (no query runner per call) as a named prepared statement (parsed once per
   * connection): this runs on the serving event loop for every group commit.
   */
  async stage(payload: AuditRecordBatchPayload): Promise<void> {
    const records = (payload.predictions?.length ?? 0) + (payload.events?.length ?? 0);
    await this.pool().query({ name: 'kiln-audit-stage', text: STAGE_SQL, values: [records, JSON.stringify(payload)] });
    for (const wake of this.listeners) wake();
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
