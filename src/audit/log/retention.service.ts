import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { UnrecoverableError } from 'bullmq';
import { DataSource } from 'typeorm';
import type { AuditRetentionPayload, AuditRetentionResult } from '../../contracts';
import { KILN_CONFIG, type KilnConfig } from '../../platform/config/kiln-config';
import { AuditLogWriter } from './audit-log.writer';
import { normalizeEvent } from './incoming-records';
import { listPartitions, type DailyPartition } from './partitions';

const DAY_MS = 86_400_000;
/** Serialises retention runs across audit replicas (transaction-scoped advisory lock). */
const RETENTION_LOCK = 'kiln.audit.retention';
export const RETENTION_EXPIRED_ACTION = 'audit.retention-expired';

/**
 * The `audit.retention` job: drops the daily partitions of `audit_predictions` whose every record
 * is older than the retention (a partition [D, D+1) goes once D+1 ≤ now − retentionDays), oldest
 * first. Each drop and its admin event `audit.retention-expired` (target {partition, from, to},
 * after {rowsDropped, throughSeq, throughHash}) commit in one transaction, so the events chain
 * always vouches for the anchor the prediction chain's verification starts from afterwards: the
 * last dropped seq and its hash. Admin events are kept (they are few and are the trail itself).
 */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger('AuditRetention');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writer: AuditLogWriter,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
  ) {}

  async run(payload: AuditRetentionPayload, now: Date = new Date()): Promise<AuditRetentionResult> {
    const days = payload.retentionDays ?? this.config.audit.retentionDays;
    if (!Number.isInteger(days) || days < 1)
      throw new UnrecoverableError(`audit.retention: retentionDays must be an integer ≥ 1, got ${String(days)}`);
    const cutoff = now.getTime() - days * DAY_MS;
    const dropped: string[] = [];
    for (const partition of await listPartitions(this.db.manager)) {
      if (partition.to.getTime() > cutoff) break;
      if (await this.drop(partition, days)) dropped.push(partition.name);
    }
    if (dropped.length > 0) this.logger.log({ dropped, retentionDays: days }, 'expired audit partitions dropped');
    return { droppedPartitions: dropped };
  }

  /** Drops one partition and records the expiry; false when another run dropped it first. */
  private async drop(p: DailyPartition, retentionDays: number): Promise<boolean> {
    return this.db.transaction(async (m) => {
      // DROP needs an exclusive lock on the parent table: give up (the job retries) rather than
      // queue the prediction writers behind a long reader.
      await m.query(`SET LOCAL lock_timeout = '10s'`);
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [RETENTION_LOCK]);
      const [{ exists }] = (await m.query(`SELECT to_regclass($1) IS NOT NULL AS exists`, [p.name])) as Array<{ exists: boolean }>;
      if (!exists) return false;
      const [stats] = (await m.query(
        `SELECT count(*)::int AS rows, (SELECT seq FROM ${p.name} ORDER BY seq DESC LIMIT 1) AS "throughSeq",
                (SELECT hash FROM ${p.name} ORDER BY seq DESC LIMIT 1) AS "throughHash"
         FROM ${p.name}`,
      )) as Array<{ rows: number; throughSeq: string | null; throughHash: string | null }>;
      await m.query(`DROP TABLE ${p.name}`);
      const event = normalizeEvent(
        {
          eventId: randomUUID(),
          at: new Date().toISOString(),
          requestId: `audit.retention__${p.name}`,
          actorKeyId: null,
          action: RETENTION_EXPIRED_ACTION,
          target: { partition: p.name, from: p.from.toISOString(), to: p.to.toISOString() },
          before: null,
          after: {
            rowsDropped: stats!.rows,
            throughSeq: stats!.throughSeq === null ? null : Number(stats!.throughSeq),
            throughHash: stats!.throughHash,
            retentionDays,
          },
        },
        0,
      );
      await this.writer.appendEvents(m, [event]);
      return true;
    });
  }
}
