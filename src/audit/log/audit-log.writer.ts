import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { UnrecoverableError } from 'bullmq';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditRecordBatchPayload, AuditRecordBatchResult } from '../../contracts';
import { hashCanonical, hashRecord } from '../chain';
import { eventContent, predictionCanonicalAt } from './chain-content';
import { IncomingRecordError, normalizeEvent, normalizePrediction, type NewEvent, type NewPrediction } from './incoming-records';
import { ensurePartition, partitionFor } from './partitions';
import { preparedQuery } from './prepared-query';

export type ChainName = 'predictions' | 'events';

/** Rows per INSERT (one array per column: the statement's size does not grow with the rows). */
const INSERT_CHUNK = 500;

const PREDICTION_INSERT_COLUMNS = `seq, logged_at, request_id, client_request_id, served_at, caller_key_id, model,
  model_version, route, kind, canary, status, latency_ms, rows, inputs, inputs_sha256, outputs, error, prev_hash, hash`;
export const PREDICTION_TYPES = [
  'bigint',
  'timestamptz',
  'varchar',
  'varchar',
  'timestamptz',
  'varchar',
  'varchar',
  'integer',
  'varchar',
  'varchar',
  'boolean',
  'smallint',
  'float8',
  'integer',
  'jsonb',
  'text',
  'jsonb',
  'text',
  'text',
  'text',
];
const EVENT_INSERT_COLUMNS = `seq, event_id, at, logged_at, request_id, actor_key_id, action, target, before, after, prev_hash, hash`;
const EVENT_TYPES = [
  'bigint',
  'uuid',
  'timestamptz',
  'timestamptz',
  'varchar',
  'varchar',
  'varchar',
  'jsonb',
  'jsonb',
  'jsonb',
  'text',
  'text',
];

/**
 * Appends batches to the two hash chains, idempotently (the `audit.record-batch` worker).
 *
 * One transaction per chain: lock the chain head row (SELECT … FOR UPDATE — this serialises every
 * writer of that chain across audit replicas), drop records already stored (predictions by request
 * id, events by event id) and duplicates inside the batch, ensure the day's partition, hash each
 * record over its content (chain-content.ts) and the previous hash, insert in multi-row chunks and
 * move the head. `logged_at` never goes backwards along a chain (it is at least the newest stored
 * one, whatever the replica clocks say), so seq order = time order and retention's partitions
 * always hold the oldest seqs.
 */
@Injectable()
export class AuditLogWriter {
  private readonly logger = new Logger('AuditLogWriter');
  /** The partition this process last ensured (saves a catalog lookup per batch). */
  private lastPartition: string | null = null;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * `loggedAt` is the worker's clock; an explicit value (tests, back-fills) is still clamped to
   * the newest stored `logged_at`.
   *
   * A record that breaks the contract cannot be stored, but it must not take the other records of
   * its group commit with it: the valid ones are written first, then the job fails (without retries,
   * which cannot fix it) naming every refused record, so the problem is visible in the failed set.
   * The same holds for a record PostgreSQL refuses (a data error despite the stored-form escaping):
   * the batch is then written record by record, and such a record is stored without its payloads
   * (inputs / outputs, keeping inputsSha256, the error saying why) so its answered call still has a
   * record; only if even that is refused is it logged and named in the job's failure.
   *
   * `outer`: write inside the caller's transaction (each attempt a savepoint of it), so what is
   * written commits or rolls back with the caller's own statements. The chainer's slow path uses it:
   * a staged row's records and the row's delete (or refusal) are one commit, never one without the other.
   */
  async writeBatch(payload: AuditRecordBatchPayload, loggedAt: Date = new Date(), outer?: EntityManager): Promise<AuditRecordBatchResult> {
    const refused: string[] = [];
    const valid = <R, N>(records: R[], normalize: (r: R, i: number) => N): N[] =>
      records.flatMap((r, i) => {
        try {
          return [normalize(r, i)];
        } catch (err) {
          if (!(err instanceof IncomingRecordError)) throw err;
          refused.push(err.message);
          return [];
        }
      });
    let predictions: NewPrediction[];
    let events: NewEvent[];
    try {
      predictions = valid(arrayOf(payload.predictions, 'predictions'), normalizePrediction);
      events = valid(arrayOf(payload.events, 'events'), normalizeEvent);
    } catch (err) {
      if (err instanceof IncomingRecordError) throw new UnrecoverableError(`audit.record-batch: ${err.message}`);
      throw err;
    }
    const writePredictions = (batch: NewPrediction[]) => this.writePredictions(batch, loggedAt, outer);
    const p = predictions.length ? await this.isolating(predictions, writePredictions, withoutPayloads, refused) : NOTHING;
    const writeEvents = (batch: NewEvent[]) => this.inTransaction(outer, (m) => this.appendEvents(m, batch, loggedAt));
    const e = events.length ? await this.isolating(events, writeEvents, null, refused) : NOTHING;
    if (refused.length) {
      throw new UnrecoverableError(
        `audit.record-batch: ${refused.length} record(s) refused (the others were written): ${refused.slice(0, 10).join('; ')}`,
      );
    }
    return { predictionsWritten: p.written, eventsWritten: e.written, duplicates: p.duplicates + e.duplicates };
  }

  /**
   * The chainer's fast path (audit-chainer.service.ts): every record of `payload` appended inside the
   * caller's transaction, which also deletes the staged rows they came from. A record that breaks the
   * contract throws IncomingRecordError, a value PostgreSQL refuses a data error (the transaction is
   * then aborted): either way the caller rolls back and takes the slow path, `writeBatch` per staged
   * row (valid records written, refused ones named, a refused payload stored without it).
   * Call `partitionCommitted(result.partition)` once the transaction has committed.
   */
  async appendInTransaction(
    m: EntityManager,
    payload: AuditRecordBatchPayload,
    loggedAt: Date = new Date(),
  ): Promise<AuditRecordBatchResult & { partition: string | null }> {
    const predictions = arrayOf(payload.predictions, 'predictions').map((r, i) => normalizePrediction(r, i, true));
    const events = arrayOf(payload.events, 'events').map((r, i) => normalizeEvent(r, i));
    let partition: string | null = null;
    const p = predictions.length
      ? await this.appendPredictions(m, predictions, loggedAt, (name) => {
          partition = name;
        })
      : NOTHING;
    const e = events.length ? await this.appendEvents(m, events, loggedAt) : NOTHING;
    return { predictionsWritten: p.written, eventsWritten: e.written, duplicates: p.duplicates + e.duplicates, partition };
  }

  /** The day's partition `appendInTransaction` ensured is committed: later batches need not look it up. */
  partitionCommitted(name: string | null): void {
    if (name) this.lastPartition = name;
  }

  /** Forget the cached partition (the transaction that ensured it may have rolled back). */
  partitionUnknown(): void {
    this.lastPartition = null;
  }

  /**
   * `write(records)`; when PostgreSQL refuses the data (SQLSTATE class 22 / 54: e.g. bad text,
   * jsonb too large), each record alone, then (`degrade`) a reduced form of a refused one; what is
   * still refused is logged and added to `refused`. Any other error (connection, lock) is thrown so
   * the job is retried whole.
   */
  private async isolating<R extends { requestId?: string | null; eventId?: string }>(
    records: R[],
    write: (batch: R[]) => Promise<Appended>,
    degrade: ((r: R, reason: string) => R) | null,
    refused: string[],
  ): Promise<Appended> {
    try {
      return await write(records);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (records.length > 1) {
        this.logger.warn({ err, records: records.length }, 'audit batch refused by PostgreSQL; writing its records one by one');
      }
    }
    const total = { written: 0, duplicates: 0 };
    for (const r of records) {
      const attempts = [r];
      for (let i = 0; i < attempts.length; i++) {
        try {
          const a = await write([attempts[i]!]);
          total.written += a.written;
          total.duplicates += a.duplicates;
          break;
        } catch (err) {
          if (!isDataError(err)) throw err;
          const reason = (err as { message?: string }).message ?? String(err);
          const id = r.eventId ?? r.requestId;
          this.logger.error({ err, id, degraded: i > 0 }, 'audit record refused by PostgreSQL');
          if (degrade && i === 0) attempts.push(degrade(r, reason));
          else refused.push(`${id}: refused by PostgreSQL (${reason.slice(0, 200)})`);
        }
      }
    }
    return total;
  }

  /** Appends admin events inside the caller's transaction (retention writes its expiry events this way). */
  async appendEvents(m: EntityManager, records: NewEvent[], requestedAt: Date = new Date()): Promise<Appended> {
    const head = await lockHead(m, 'events');
    const unique = dedupe(records, (r) => r.eventId);
    const stored = new Set(
      (
        (await m.query(`SELECT event_id AS id FROM audit_events WHERE event_id = ANY($1::uuid[])`, [
          unique.map((r) => r.eventId),
        ])) as IdRow[]
      ).map((r) => r.id),
    );
    const fresh = unique.filter((r) => !stored.has(r.eventId));
    if (fresh.length > 0) {
      const loggedAt = notBefore(requestedAt, head.loggedAt);
      let prev = head.hash;
      let seq = Number(head.seq);
      const rows = fresh.map((r) => {
        seq += 1;
        const hash = hashRecord(prev, eventContent({ ...r, seq, loggedAt }));
        const row = [
          seq,
          r.eventId,
          r.at,
          loggedAt,
          r.requestId,
          r.actorKeyId,
          r.action,
          r.targetJson,
          r.beforeJson,
          r.afterJson,
          prev,
          hash,
        ];
        prev = hash;
        return row;
      });
      await insertColumns(m, 'audit_events', EVENT_INSERT_COLUMNS, EVENT_TYPES, byColumn(EVENT_TYPES.length, rows));
      await moveHead(m, 'events', seq, prev, loggedAt);
    }
    return { written: fresh.length, duplicates: records.length - fresh.length };
  }

  /** `work` in a transaction of its own, or (`outer` given) in a savepoint of the caller's transaction. */
  private async inTransaction<T>(outer: EntityManager | undefined, work: (m: EntityManager) => Promise<T>): Promise<T> {
    if (!outer) return this.db.transaction(work);
    await outer.query(`SAVEPOINT audit_write`);
    try {
      const result = await work(outer);
      await outer.query(`RELEASE SAVEPOINT audit_write`);
      return result;
    } catch (err) {
      await outer.query(`ROLLBACK TO SAVEPOINT audit_write`);
      await outer.query(`RELEASE SAVEPOINT audit_write`);
      throw err;
    }
  }

  private async writePredictions(records: NewPrediction[], loggedAt: Date, outer?: EntityManager): Promise<Appended> {
    let ensured: string | null = null;
    try {
      const result = await this.inTransaction(outer, (m) =>
        this.appendPredictions(m, records, loggedAt, (name) => {
          ensured = name;
        }),
      );
      // cached only once committed (a rolled-back transaction also rolls back the CREATE TABLE): not
      // yet when the caller's transaction holds it
      if (ensured && !outer) this.lastPartition = ensured;
      return result;
    } catch (err) {
      this.lastPartition = null;
      throw err;
    }
  }

  private async appendPredictions(
    m: EntityManager,
    records: NewPrediction[],
    requestedAt: Date,
    onEnsured: (partition: string) => void,
  ): Promise<Appended> {
    const head = await lockHead(m, 'predictions');
    const unique = dedupe(records, (r) => r.requestId);
    const stored = new Set(
      // planned per call, not prepared: the generic plan of `= ANY($1)` over the partitions was 18×
      // slower to execute (pg_stat_statements) than the custom plan is to plan
      (
        (await m.query(`SELECT request_id AS id FROM audit_predictions WHERE request_id = ANY($1::varchar[])`, [
          unique.map((r) => r.requestId),
        ])) as IdRow[]
      ).map((r) => r.id),
    );
    const fresh = unique.filter((r) => !stored.has(r.requestId));
    if (fresh.length > 0) {
      const loggedAt = notBefore(requestedAt, head.loggedAt);
      const partition = partitionFor(loggedAt);
      if (partition.name !== this.lastPartition) {
        await ensurePartition(m, partition);
        onEnsured(partition.name);
      }
      const chained = predictionInsertParams(fresh, head, loggedAt);
      await insertColumns(m, 'audit_predictions', PREDICTION_INSERT_COLUMNS, PREDICTION_TYPES, chained.columns);
      await moveHead(m, 'predictions', chained.seq, chained.hash, loggedAt);
    }
    return { written: fresh.length, duplicates: records.length - fresh.length };
  }
}

export interface Appended {
  written: number;
  duplicates: number;
}

interface IdRow {
  id: string;
}

const NOTHING: Appended = { written: 0, duplicates: 0 };

/** PostgreSQL refused the values themselves (retrying the same data cannot succeed). */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}

/** A prediction record without its payloads, for when PostgreSQL refuses them: the call still has a record. */
function withoutPayloads(r: NewPrediction, reason: string): NewPrediction {
  const note = `audit: inputs and outputs not stored (refused by PostgreSQL: ${reason.slice(0, 200)})`;
  const error = r.error ? `${r.error}; ${note}` : note;
  return {
    ...r,
    inputs: null,
    inputsJson: null,
    inputsCanonical: undefined,
    outputs: null,
    outputsJson: null,
    outputsCanonical: undefined,
    error,
  };
}

function arrayOf<T>(value: T[] | undefined, field: string): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new IncomingRecordError(`${field}: must be an array`);
  return value;
}

/** First occurrence of each key wins (a batch may carry the same record twice). */
function dedupe<T>(records: T[], key: (r: T) => string): T[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const k = key(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Whole milliseconds (what a timestamptz gives back to JS), and never before `floor`. */
function notBefore(at: Date, floor: Date | null): Date {
  const ms = Math.floor(at.getTime());
  return new Date(floor && floor.getTime() > ms ? floor.getTime() : ms);
}

/**
 * Locks a chain's head: its seq, hash and newest logged_at (null while the chain is empty). The head
 * keeps logged_at so that the writer need not look for the newest row (migration 1765300000000).
 */
export async function lockHead(m: EntityManager, chain: ChainName): Promise<ChainHead> {
  const rows = await preparedQuery<ChainHead>(
    m,
    'kiln-audit-lock-head',
    `SELECT seq, hash, logged_at AS "loggedAt" FROM audit_chain_heads WHERE chain = $1 FOR UPDATE`,
    [chain],
  );
  if (rows.length !== 1) throw new Error(`audit_chain_heads has no '${chain}' row (migration AuditLog1764600000000 not applied?)`);
  return rows[0]!;
}

interface ChainHead {
  seq: string;
  hash: string;
  loggedAt: Date | null;
}

async function moveHead(m: EntityManager, chain: ChainName, seq: number, hash: string, loggedAt: Date): Promise<void> {
  await preparedQuery(m, 'kiln-audit-move-head', `UPDATE audit_chain_heads SET seq = $2, hash = $3, logged_at = $4 WHERE chain = $1`, [
    chain,
    seq,
    hash,
    loggedAt.toISOString(),
  ]);
}

/**
 * The chain positions and the INSERT's parameters (one array per column of PREDICTION_INSERT_COLUMNS)
 * of `records`, appended after `head`: each record hashed over its canonical content and the previous
 * hash. Pure (the bench measures it: bench/serve/chainer-cost.ts). Timestamps go as ISO 8601 text
 * (what a timestamptz[] parses, exactly the Date's millisecond): node-postgres would format every
 * Date of the array in the local time zone by hand.
 */
export function predictionInsertParams(
  records: NewPrediction[],
  head: { seq: string | number; hash: string },
  loggedAt: Date,
): { columns: unknown[][]; seq: number; hash: string } {
  const columns: unknown[][] = PREDICTION_TYPES.map(() => new Array<unknown>(records.length));
  const loggedAtText = loggedAt.toISOString();
  let prev = head.hash;
  const at = { seq: Number(head.seq), loggedAt };
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    at.seq += 1;
    const seq = at.seq;
    const hash = hashCanonical(prev, predictionCanonicalAt(r, at, { inputs: r.inputsCanonical, outputs: r.outputsCanonical }));
    // prettier-ignore
    const row = [seq, loggedAtText, r.requestId, r.clientRequestId, r.servedAt.toISOString(), r.callerKeyId, r.model, r.modelVersion,
      r.route, r.kind, r.canary, r.status, r.latencyMs, r.rows, r.inputsJson, r.inputsSha256, r.outputsJson, r.error, prev, hash];
    for (let c = 0; c < row.length; c++) columns[c]![i] = row[c];
    prev = hash;
  }
  return { columns, seq: at.seq, hash: prev };
}

/** Rows as one array per column. */
function byColumn(columnCount: number, rows: unknown[][]): unknown[][] {
  return Array.from({ length: columnCount }, (_, i) => rows.map((row) => row[i]));
}

/**
 * `columns` (one array per column, equal lengths) in chunks, each one INSERT … SELECT FROM ROWS FROM
 * (one set-returning function per column): a statement of one parameter per column, whatever the rows.
 * A multi-row VALUES list (a parameter per value, 10 000 for 500 records) cost PostgreSQL more to parse
 * and plan than to execute (pg_stat_statements: planning 64 % of the log INSERT's time;
 * docs/performance.md). Scalar columns go as arrays (`unnest($n::type[])`); a jsonb column (JSON text
 * per row, or null) goes as ONE JSON array of its values (`jsonb_array_elements($n::jsonb)`, JSON null
 * back to SQL NULL: a stored JSON value is never JSON null, storedJson maps it to NULL): its texts are
 * joined as they are, where an array literal would escape every quote and backslash of every value in
 * Node and unescape them again in PostgreSQL before parsing each as jsonb.
 */
async function insertColumns(
  m: EntityManager,
  table: string,
  columnNames: string,
  columnTypes: string[],
  columns: unknown[][],
): Promise<void> {
  const sources = columnTypes.map((type, i) =>
    type === 'jsonb' ? `jsonb_array_elements($${i + 1}::jsonb)` : `unnest($${i + 1}::${type}[])`,
  );
  const values = columnTypes.map((type, i) => (type === 'jsonb' ? `NULLIF(c${i}, 'null'::jsonb)` : `c${i}`));
  const sql =
    `INSERT INTO ${table} (${columnNames}) SELECT ${values.join(', ')} ` +
    `FROM ROWS FROM (${sources.join(', ')}) AS t(${columnTypes.map((_, i) => `c${i}`).join(', ')})`;
  const rows = columns[0]!.length;
  for (let start = 0; start < rows; start += INSERT_CHUNK) {
    const chunk = rows <= INSERT_CHUNK ? columns : columns.map((column) => column.slice(start, start + INSERT_CHUNK));
    await preparedQuery(m, `kiln-audit-insert-${table}`, sql, wireColumns(columnTypes, chunk));
  }
}

/** The parameters insertColumns sends for `columns`: jsonb columns as one JSON array text each. */
export function wireColumns(columnTypes: string[], columns: unknown[][]): unknown[] {
  return columns.map((column, i) => (columnTypes[i] === 'jsonb' ? jsonArrayOf(column as Array<string | null>) : column));
}

/** One JSON array text of JSON texts (null → JSON null). */
function jsonArrayOf(texts: Array<string | null>): string {
  let out = '[';
  for (let i = 0; i < texts.length; i++) out += (i > 0 ? ',' : '') + (texts[i] ?? 'null');
  return out + ']';
}
