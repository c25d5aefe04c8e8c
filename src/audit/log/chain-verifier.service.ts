import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { GENESIS_HASH, verifyChain, type ChainRecord } from '../chain';
import type { ChainName } from './audit-log.writer';
import {
  EVENT_COLUMNS,
  PREDICTION_COLUMNS,
  eventContent,
  predictionContent,
  type StoredEvent,
  type StoredPrediction,
} from './chain-content';
import { CheckpointKey } from './checkpoint-key';
import { parseStatement } from './checkpoints.service';
import { RETENTION_EXPIRED_ACTION } from './retention.service';

/** Rows read per page while verifying (memory stays bounded whatever the chain's length). */
const PAGE = 1_000;

/** A bound of a verification range: a seq (inclusive), or a time on `logged_at` (from inclusive, to exclusive). */
export type ChainBound = { seq: number } | { time: Date };

export interface ChainBreakReport {
  seq: number;
  requestId?: string;
  eventId?: string;
  /**
   * `hash_mismatch`: the record was edited. `prev_hash_mismatch`: the record does not link to the
   * one before it (a record before it was deleted, inserted, reordered, or edited with its hash
   * recomputed). `missing`: the chain head says records exist that are gone (the newest records,
   * or the record just before the range). `head_mismatch`: the newest record is not the head's.
   * `seq_gap`: a record's seq is not the one after its predecessor's (a record was removed and the
   * next one relinked, or a row was inserted with a seq of its own choosing). `duplicate_seq`: two
   * rows share a seq. `out_of_range`: a row's seq is below 1 or beyond the stored chain head (a row
   * inserted past the writer, which no head accounts for). `checkpoint_mismatch`: the newest signed
   * checkpoint does not hold (see `checkpoint.reason`).
   */
  reason:
    | 'hash_mismatch'
    | 'prev_hash_mismatch'
    | 'missing'
    | 'head_mismatch'
    | 'seq_gap'
    | 'duplicate_seq'
    | 'out_of_range'
    | 'checkpoint_mismatch';
  expected: string | null;
  actual: string | null;
}

export interface ChainVerificationReport {
  chain: ChainName;
  ok: boolean;
  checked: number;
  /** The seq range examined (inclusive); empty when fromSeq > toSeq. */
  fromSeq: number;
  toSeq: number;
  /**
   * Where verification started when not at genesis: `retention` — the oldest records were dropped
   * by retention and the first remaining record links to the hash the `audit.retention-expired`
   * event `eventId` recorded; `range` — `from` was given and the range links to its predecessor.
   */
  anchoredAt?: { seq: number; prevHash: string; by: 'retention' | 'range'; eventId?: string };
  firstBroken?: ChainBreakReport;
  /**
   * The chain against its newest signed checkpoint (absent when none was taken): the signature with
   * the signing key's public key, then that the stored record at `seq` still has `hash` and the head
   * is not behind it. `signature_invalid`: the checkpoint row was forged or edited;
   * `hash_mismatch` / `missing`: the record it signed was rewritten or removed (even if the chain
   * and its head were recomputed); `head_behind`: the chain was cut back below it.
   */
  checkpoint?: CheckpointCheck;
}

export interface CheckpointCheck {
  id: string;
  seq: number;
  hash: string;
  at: string;
  ok: boolean;
  reason?: 'signature_invalid' | 'hash_mismatch' | 'missing' | 'head_behind';
  actual?: string | null;
  /** The record it signed was dropped by retention; only the retention anchor could be compared. */
  expiredByRetention?: boolean;
}

interface Start {
  /** First seq to verify. */
  lo: number;
  previousHash: string;
  anchoredAt?: ChainVerificationReport['anchoredAt'];
}

type Row = StoredPrediction | StoredEvent;

const TABLE: Record<ChainName, string> = { predictions: 'audit_predictions', events: 'audit_events' };

/**
 * Recomputes a hash chain from the stored rows (`GET /api/audit/verify`), page by page in seq
 * order, inside one read-only REPEATABLE READ transaction so the head, the rows and the retention
 * anchor are one consistent snapshot. Uses the same content definition as the writer.
 */
@Injectable()
export class ChainVerifier {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly key: CheckpointKey,
  ) {}

  async verify(chain: ChainName, from?: ChainBound, to?: ChainBound): Promise<ChainVerificationReport> {
    const qr = this.db.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction('REPEATABLE READ');
      await qr.query('SET TRANSACTION READ ONLY');
      const report = await this.withCheckpoint(qr, chain, await this.run(qr, chain, from, to));
      await qr.commitTransaction();
      return report;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction();
      throw err;
    } finally {
      await qr.release();
    }
  }

  private async run(qr: QueryRunner, chain: ChainName, from?: ChainBound, to?: ChainBound): Promise<ChainVerificationReport> {
    const [head] = (await qr.query(`SELECT seq, hash FROM audit_chain_heads WHERE chain = $1`, [chain])) as Array<{
      seq: string;
      hash: string;
    }>;
    const headSeq = Number(head!.seq);
    const requestedFrom = from ? await this.seqFrom(qr, chain, from, headSeq) : 1;
    const hi = Math.min(to ? await this.seqTo(qr, chain, to) : headSeq, headSeq);
    const start = await this.start(qr, chain, requestedFrom, hi);
    if ('reason' in start) return { chain, fromSeq: requestedFrom, toSeq: hi, ok: false, checked: 0, firstBroken: start };
    const { lo, anchoredAt } = start;
    const base = { chain, fromSeq: lo, toSeq: hi, ...(anchoredAt ? { anchoredAt } : {}) };
    const stray = await this.outOfRange(qr, chain, headSeq);
    if (lo > hi) return stray ? { ...base, ok: false, checked: 0, firstBroken: stray } : { ...base, ok: true, checked: 0 };

    let checked = 0;
    let lastSeq = lo - 1;
    let lastHash = start.previousHash;
    // Pages are windows of seq values (not LIMIT pages), so rows sharing a seq land in one page.
    for (let windowStart = lo; windowStart <= hi; windowStart += PAGE) {
      const page = (await qr.query(
        `SELECT ${chain === 'predictions' ? PREDICTION_COLUMNS : EVENT_COLUMNS} FROM ${TABLE[chain]} ` +
          `WHERE seq >= $1 AND seq <= $2 ORDER BY seq, logged_at`,
        [windowStart, Math.min(windowStart + PAGE - 1, hi)],
      )) as Row[];
      if (page.length === 0) continue;
      const result = verifyChain(
        page.map((row) => chainRecord(chain, row)),
        { previousHash: lastHash },
      );
      const linkBreak = result.ok ? page.length : result.firstBroken.index;
      const seqBreak = continuityBreak(page, lastSeq);
      if (seqBreak && seqBreak.index < linkBreak) {
        const row = page[seqBreak.index]!;
        const firstBroken: ChainBreakReport = { seq: Number(row.seq), ...idOf(chain, row), ...seqBreak.report };
        return { ...base, ok: false, checked: checked + seqBreak.index + 1, firstBroken };
      }
      if (!result.ok) {
        const row = page[result.firstBroken.index]!;
        const { reason, expected, actual } = result.firstBroken;
        return {
          ...base,
          ok: false,
          checked: checked + result.checked,
          firstBroken: { seq: Number(row.seq), ...idOf(chain, row), reason, expected, actual },
        };
      }
      checked += page.length;
      const last = page[page.length - 1]!;
      lastSeq = Number(last.seq);
      lastHash = last.hash;
    }
    if (hi === headSeq && (lastSeq !== headSeq || lastHash !== head!.hash)) {
      const firstBroken: ChainBreakReport =
        lastSeq < headSeq
          ? { seq: lastSeq + 1, reason: 'missing', expected: null, actual: null }
          : { seq: headSeq, reason: 'head_mismatch', expected: head!.hash, actual: lastHash };
      return { ...base, ok: false, checked, firstBroken };
    }
    if (stray) return { ...base, ok: false, checked, firstBroken: stray };
    return { ...base, ok: true, checked };
  }

  /**
   * A row no chain position accounts for: seq below 1 or beyond the stored head. The writer never
   * stores one, so any such row was inserted around it; the range verified does not matter.
   */
  private async outOfRange(qr: QueryRunner, chain: ChainName, headSeq: number): Promise<ChainBreakReport | null> {
    const idColumn = chain === 'predictions' ? 'request_id AS "requestId"' : 'event_id AS "eventId"';
    const rows = (await qr.query(`SELECT seq, ${idColumn} FROM ${TABLE[chain]} WHERE seq < 1 OR seq > $1 ORDER BY seq LIMIT 1`, [
      headSeq,
    ])) as Row[];
    const r = rows[0];
    if (!r) return null;
    return { seq: Number(r.seq), ...idOf(chain, r), reason: 'out_of_range', expected: `1..${headSeq}`, actual: String(r.seq) };
  }

  /** Adds the check against the newest signed checkpoint; a failed one fails the report. */
  private async withCheckpoint(qr: QueryRunner, chain: ChainName, report: ChainVerificationReport): Promise<ChainVerificationReport> {
    const checkpoint = await this.checkpoint(qr, chain);
    if (!checkpoint) return report;
    if (checkpoint.ok || !report.ok) return { ...report, checkpoint, ok: report.ok && checkpoint.ok };
    const firstBroken: ChainBreakReport = {
      seq: checkpoint.seq,
      reason: 'checkpoint_mismatch',
      expected: checkpoint.hash,
      actual: checkpoint.actual ?? null,
    };
    return { ...report, ok: false, checkpoint, firstBroken };
  }

  private async checkpoint(qr: QueryRunner, chain: ChainName): Promise<CheckpointCheck | null> {
    const rows = (await qr.query(
      `SELECT id, statement, signature FROM audit_checkpoints WHERE chain = $1 ORDER BY at DESC, seq DESC LIMIT 1`,
      [chain],
    )) as Array<{ id: string; statement: string; signature: string }>;
    const row = rows[0];
    if (!row) return null;
    const statement = this.key.verify(row.statement, row.signature) ? parseStatement(row.statement) : null;
    if (!statement || statement.chain !== chain) {
      const claimed = parseStatement(row.statement);
      return {
        id: row.id,
        seq: claimed?.seq ?? -1,
        hash: claimed?.hash ?? '',
        at: claimed?.at ?? '',
        ok: false,
        reason: 'signature_invalid',
      };
    }
    const base = { id: row.id, seq: statement.seq, hash: statement.hash, at: statement.at };
    const [head] = (await qr.query(`SELECT seq FROM audit_chain_heads WHERE chain = $1`, [chain])) as Array<{ seq: string }>;
    if (Number(head!.seq) < statement.seq) return { ...base, ok: false, reason: 'head_behind', actual: null };
    if (statement.seq === 0) {
      return statement.hash === GENESIS_HASH
        ? { ...base, ok: true }
        : { ...base, ok: false, reason: 'hash_mismatch', actual: GENESIS_HASH };
    }
    const stored = (await qr.query(`SELECT hash FROM ${TABLE[chain]} WHERE seq = $1`, [statement.seq])) as Array<{ hash: string }>;
    if (stored.length === 0) {
      const retention = chain === 'predictions' ? await this.retentionAnchor(qr) : null;
      if (retention && retention.throughSeq > statement.seq) return { ...base, ok: true, expiredByRetention: true };
      if (retention && retention.throughSeq === statement.seq) {
        const ok = retention.throughHash === statement.hash;
        return ok
          ? { ...base, ok, expiredByRetention: true }
          : { ...base, ok, reason: 'hash_mismatch', actual: retention.throughHash, expiredByRetention: true };
      }
      return { ...base, ok: false, reason: 'missing', actual: null };
    }
    const ok = stored.length === 1 && stored[0]!.hash === statement.hash;
    return ok ? { ...base, ok } : { ...base, ok, reason: 'hash_mismatch', actual: stored[0]!.hash };
  }

  /**
   * First seq of the range: the seq itself, or the first record logged at or after the time. In seq
   * order (the primary key's), which is logged_at order along a chain (the writer never moves logged_at
   * back): the time prunes the partitions, the key is read from the time's day on.
   */
  private async seqFrom(qr: QueryRunner, chain: ChainName, bound: ChainBound, headSeq: number): Promise<number> {
    if ('seq' in bound) return Math.max(bound.seq, 1);
    const rows = (await qr.query(`SELECT seq FROM ${TABLE[chain]} WHERE logged_at >= $1 ORDER BY seq LIMIT 1`, [bound.time])) as SeqRow[];
    return rows.length ? Number(rows[0]!.seq) : headSeq + 1;
  }

  /** Last seq of the range: the seq itself, or the last record logged before the time (in seq order, as seqFrom). */
  private async seqTo(qr: QueryRunner, chain: ChainName, bound: ChainBound): Promise<number> {
    if ('seq' in bound) return bound.seq;
    const rows = (await qr.query(`SELECT seq FROM ${TABLE[chain]} WHERE logged_at < $1 ORDER BY seq DESC LIMIT 1`, [
      bound.time,
    ])) as SeqRow[];
    return rows.length ? Number(rows[0]!.seq) : 0;
  }

  /** The newest retention expiry that dropped records: the chain now starts after its throughSeq. */
  private async retentionAnchor(qr: QueryRunner): Promise<{ throughSeq: number; throughHash: string; eventId: string } | null> {
    const rows = (await qr.query(
      `SELECT event_id AS "eventId", (after->>'throughSeq')::bigint AS "throughSeq", after->>'throughHash' AS "throughHash"
       FROM audit_events WHERE action = $1 AND after->>'throughSeq' IS NOT NULL
       ORDER BY (after->>'throughSeq')::bigint DESC LIMIT 1`,
      [RETENTION_EXPIRED_ACTION],
    )) as Array<{ eventId: string; throughSeq: string; throughHash: string }>;
    const r = rows[0];
    return r ? { eventId: r.eventId, throughSeq: Number(r.throughSeq), throughHash: r.throughHash } : null;
  }

  /**
   * Where verification starts and the hash its first record must link to: after the records
   * retention dropped (the expiry event's hash), at genesis, or on the stored predecessor of a
   * range; a missing predecessor that retention does not account for is itself a break.
   */
  private async start(qr: QueryRunner, chain: ChainName, lo: number, hi: number): Promise<Start | ChainBreakReport> {
    const retention = chain === 'predictions' ? await this.retentionAnchor(qr) : null;
    if (retention && lo <= retention.throughSeq + 1) {
      const seq = retention.throughSeq + 1;
      return {
        lo: seq,
        previousHash: retention.throughHash,
        anchoredAt: { seq, prevHash: retention.throughHash, by: 'retention', eventId: retention.eventId },
      };
    }
    if (lo <= 1) return { lo: 1, previousHash: GENESIS_HASH };
    if (lo > hi) return { lo, previousHash: GENESIS_HASH };
    const rows = (await qr.query(`SELECT hash FROM ${TABLE[chain]} WHERE seq = $1`, [lo - 1])) as Array<{ hash: string }>;
    if (rows.length === 0) return { seq: lo - 1, reason: 'missing', expected: null, actual: null };
    return { lo, previousHash: rows[0]!.hash, anchoredAt: { seq: lo, prevHash: rows[0]!.hash, by: 'range' } };
  }
}

/** The first row whose seq does not follow its predecessor's (`previousSeq` for the first row). */
function continuityBreak(
  page: Row[],
  previousSeq: number,
): { index: number; report: Pick<ChainBreakReport, 'reason' | 'expected' | 'actual'> } | null {
  let expected = previousSeq + 1;
  for (let index = 0; index < page.length; index++) {
    const seq = Number(page[index]!.seq);
    if (seq !== expected) {
      const reason = seq === expected - 1 ? 'duplicate_seq' : 'seq_gap';
      return { index, report: { reason, expected: String(expected), actual: String(seq) } };
    }
    expected++;
  }
  return null;
}

interface SeqRow {
  seq: string;
}

function chainRecord(chain: ChainName, row: Row): ChainRecord {
  const content = chain === 'predictions' ? predictionContent(row as StoredPrediction) : eventContent(row as StoredEvent);
  return { id: Number(row.seq), prevHash: row.prevHash, hash: row.hash, content };
}

function idOf(chain: ChainName, row: Row): { requestId: string } | { eventId: string } {
  return chain === 'predictions' ? { requestId: (row as StoredPrediction).requestId } : { eventId: (row as StoredEvent).eventId };
}
