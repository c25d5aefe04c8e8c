import { Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import type { DataSource, EntityManager } from 'typeorm';
import type { AuditRecordBatchPayload } from '../../contracts';
import type { AuditLogWriter } from './audit-log.writer';
import { BUSY, CHAINER_FLAGS_BYTES, PAUSED, WAITING } from './chainer-thread';
import { IncomingRecordError } from './incoming-records';
import { preparedQuery } from './prepared-query';

/** Staged rows claimed per pass (each holds one group commit: 1–500 records). */
export const CLAIM_ROWS = 200;
/** How often an idle chainer looks for rows staged by other processes (split deployment); its own process wakes it at once. */
export const CHAIN_POLL_MS = 100;
/**
 * Pause after a pass that found rows but not a full claim: lets the next pass take many group
 * commits at once (one lock, one dedupe query, one multi-row INSERT for all of them) instead of
 * one pass per group commit under load. Chaining is off the request path: the answer waited only
 * for the staging commit.
 */
export const CHAIN_INTERVAL_MS = 20;
/** Pause after a pass failed for a reason other than the data (database down, lock timeout). */
export const RETRY_MS = 1_000;

/** Claims and deletes the oldest staged rows not taken by another chainer (run on every pass and idle poll). */
const CLAIM_SQL = `DELETE FROM audit_staging WHERE id IN (
  SELECT id FROM audit_staging WHERE refused_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, batch`;

interface StagedRow {
  id: string;
  batch: string;
}

/**
 * The chaining loop over `audit_staging` (written by every process's AuditSink), wherever it runs:
 * in the audit chainer's worker thread (audit-chainer.worker.ts, the normal case) or, without a
 * compiled worker file, on the caller's thread (audit-chainer.service.ts).
 *
 * One pass = one transaction: claim AND delete up to CLAIM_ROWS staged rows in one statement
 * (`DELETE … WHERE id IN (SELECT … ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED) RETURNING`: audit
 * replicas share the work, never a row twice at once), append all their records with one chain-head
 * lock per chain (AuditLogWriter.appendInTransaction: one dedupe query, multi-row INSERTs, one head
 * update), commit. A crash anywhere (the process, the thread, the connection) rolls the whole pass
 * back: the rows are staged again for the next pass, and the writer drops what is already in the log
 * (by request id / event id), so nothing is lost or stored twice.
 *
 * When a record breaks the contract or PostgreSQL refuses a value, the pass goes back to before its
 * claim (a savepoint), locks the same rows again and writes them one staged row at a time through
 * AuditLogWriter.writeBatch (record by record, a refused payload stored without it), still in the
 * pass's transaction, so the whole pass commits as one; a row with
 * records that still cannot be stored keeps them in `audit_staging` with `refused_at` / `refused`
 * set (out of the backlog), the others are written.
 *
 * When idle, woken at once through `poke` (this process's AuditSink staged a batch), else every
 * CHAIN_POLL_MS; while rows keep coming, a pass every CHAIN_INTERVAL_MS takes all staged meanwhile.
 */
export class StagedChainer {
  private readonly logger = new Logger('AuditChainer');
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private woken = false;

  constructor(
    private readonly db: DataSource,
    private readonly writer: AuditLogWriter,
    /**
     * Control flags shared with the host thread (chainer-thread.ts): PAUSED is read before every pass;
     * BUSY is 1 from just before that read until the pass is over (so a host that set PAUSED and then
     * sees BUSY 0 knows no pass runs, nor will); WAITING is 1 during an idle wait (the only wait a
     * `poke` needs to cut short).
     */
    private readonly flags: Int32Array = new Int32Array(new SharedArrayBuffer(CHAINER_FLAGS_BYTES)),
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Resolves once the current pass (if any) is over; no pass starts after. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    await this.loop;
  }

  poke(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Waits `ms`, or less when poked meanwhile (a poke while not sleeping makes the next sleep return at once). */
  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = () => {
        this.woken = false;
        done();
      };
    });
  }

  private async idleSleep(): Promise<void> {
    Atomics.store(this.flags, WAITING, 1);
    await this.sleep(CHAIN_POLL_MS);
    Atomics.store(this.flags, WAITING, 0);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      Atomics.store(this.flags, BUSY, 1);
      if (Atomics.load(this.flags, PAUSED) === 1) {
        Atomics.store(this.flags, BUSY, 0);
        await this.idleSleep();
        continue;
      }
      let claimed = 0;
      try {
        claimed = await this.pass();
      } catch (err) {
        this.logger.error({ err }, 'audit chainer pass failed; retrying');
        await this.sleep(RETRY_MS);
        continue;
      } finally {
        Atomics.store(this.flags, BUSY, 0);
      }
      if (claimed === 0) await this.idleSleep();
      else if (claimed < CLAIM_ROWS) await new Promise((r) => setTimeout(r, CHAIN_INTERVAL_MS));
    }
  }

  /** One pass; resolves to the staged rows it took (0 = nothing staged). */
  async pass(): Promise<number> {
    let partition: string | null = null;
    let fallback = false;
    const claimed = await this.transaction(async (m) => {
      await m.query(`SAVEPOINT chain`);
      const rows = await preparedQuery<StagedRow>(m, 'kiln-audit-claim', CLAIM_SQL, [CLAIM_ROWS]);
      if (rows.length === 0) return 0;
      // RETURNING has no order: the records go into the chain in staging order
      rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      const merged: AuditRecordBatchPayload = { payloadVersion: 1, predictions: [], events: [] };
      for (const row of rows) {
        const p = JSON.parse(row.batch) as AuditRecordBatchPayload;
        if (Array.isArray(p.predictions)) for (const r of p.predictions) merged.predictions!.push(r);
        if (Array.isArray(p.events)) for (const r of p.events) merged.events!.push(r);
      }
      try {
        partition = (await this.writer.appendInTransaction(m, merged)).partition;
        await m.query(`RELEASE SAVEPOINT chain`);
      } catch (err) {
        if (!isRecordProblem(err)) throw err;
        // Undo the claim and the partial append, then take the same rows again (another replica may
        // have claimed some in between: they are its now); held by this transaction until done.
        await m.query(`ROLLBACK TO SAVEPOINT chain`);
        fallback = true;
        const again = (await m.query(
          `SELECT id, batch FROM audit_staging WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE SKIP LOCKED`,
          [rows.map((r) => r.id)],
        )) as StagedRow[];
        await this.oneByOne(m, again);
      }
      return rows.length;
    });
    if (!fallback) this.writer.partitionCommitted(partition);
    else this.writer.partitionUnknown();
    return claimed;
  }

  /** The pass's transaction; when it fails, a partition it created is gone with it. */
  private async transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(work);
    } catch (err) {
      this.writer.partitionUnknown();
      throw err;
    }
  }

  /**
   * The slow path, rows still locked by the caller's transaction `m`: each row through writeBatch, in
   * `m` (savepoints), then deleted — or marked refused with the writer's reason. The row's records and
   * its delete commit together: a crash in between leaves neither (never a record in the log whose
   * staged row is still there to be chained again).
   */
  private async oneByOne(m: EntityManager, rows: StagedRow[]): Promise<void> {
    for (const row of rows) {
      let refused: string | null = null;
      try {
        await this.writer.writeBatch(JSON.parse(row.batch) as AuditRecordBatchPayload, new Date(), m);
      } catch (err) {
        if (!(err instanceof UnrecoverableError)) throw err;
        refused = err.message;
        this.logger.error({ staged: row.id, reason: refused }, 'audit records refused; kept in audit_staging with refused_at');
      }
      if (refused === null) await m.query(`DELETE FROM audit_staging WHERE id = $1`, [row.id]);
      else await m.query(`UPDATE audit_staging SET refused_at = now(), refused = $2 WHERE id = $1`, [row.id, refused]);
    }
  }
}

/** The records themselves are the problem (contract or a value PostgreSQL refuses): retrying as is cannot help. */
function isRecordProblem(err: unknown): boolean {
  if (err instanceof IncomingRecordError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}
