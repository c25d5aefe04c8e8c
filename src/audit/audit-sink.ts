import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import type { AdminEventRecord, AuditPredictionRecord, AuditRecordBatchPayload } from '../contracts';
import { KILN_CONFIG, type KilnConfig } from '../platform/config/kiln-config';
import { AuditStaging } from './audit-staging';
import { canonicalJson, escapeStrings, escapeText, toJsonSafe } from './chain';

/** Records in one staged batch at most; a larger burst becomes several batches. */
const MAX_RECORDS_PER_BATCH = 500;

type Pending = ({ kind: 'prediction'; record: AuditPredictionRecord } | { kind: 'event'; record: AdminEventRecord }) & {
  resolve(): void;
  reject(e: unknown): void;
};

/**
 * The producer side of the audit log, in every process that serves predictions or management calls.
 *
 * Durability by group commit: records are collected for one event-loop turn and staged together as
 * ONE row of `audit_staging` (audit-staging.ts: one INSERT, one PostgreSQL commit, whatever the queue
 * backend); every caller's promise resolves only once that row is committed, and callers answer their
 * client after that. So a process killed at any moment loses no record of an answered request: either
 * the row is in PostgreSQL (the audit worker's chainer writes it into the log, idempotently, after
 * any restart) or the client never got its answer. At most `KILN_AUDIT_COMMITS_IN_FLIGHT` (default 4)
 * group commits are written at once; records that arrive meanwhile wait for the next. Fewer make larger
 * batches (fewer commits per record); more let calls wait less for a commit when PostgreSQL is slow to
 * answer (a loaded machine, a slow disk flush): at 64 clients on a loaded 2-core machine 8 in flight
 * served 1.27× what 2 did, on a quiet one the same (docs/performance.md, "Group commits in flight").
 *
 * Records are staged in their stored form (chain/json-safe.ts: strings escaped, so no NUL or unpaired
 * surrogate reaches PostgreSQL). A batch PostgreSQL refuses is retried record by record, so one
 * record that cannot be stored fails its own call, never its neighbours'.
 */
@Injectable()
export class AuditSink {
  private readonly logger = new Logger('AuditSink');
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly staging: AuditStaging,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
  ) {}

  /** False with KILN_AUDIT=off: nothing is recorded. */
  get enabled(): boolean {
    return this.config.audit.enabled;
  }

  /**
   * The stored form of a call's inputs: kept as given unless KILN_AUDIT_PAYLOADS=hash, where only
   * their SHA-256 goes to the log (when kept, the audit writer hashes them, off the request path).
   * `jsonSafe`: the inputs came from JSON.parse (no NaN, no typed arrays), so no copy is needed.
   */
  payload(inputs: unknown, jsonSafe = false): { inputs: unknown; inputsSha256: string | null } {
    const safe = jsonSafe ? (inputs ?? null) : toJsonSafe(inputs ?? null);
    // No inputs (batch chunks are logged in aggregate): there is nothing for the writer to hash.
    if (this.config.audit.payloads !== 'hash' && safe !== null) return { inputs: safe, inputsSha256: null };
    return { inputs: null, inputsSha256: createHash('sha256').update(canonicalJson(safe)).digest('hex') };
  }

  /** Resolves once the record is durable (staged in PostgreSQL; rejects with 503 when it cannot be). */
  recordPrediction(given: AuditPredictionRecord): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const record: AuditPredictionRecord = {
      ...given,
      inputs: escapeStrings(given.inputs),
      outputs: escapeStrings(toJsonSafe(given.outputs)),
      error: given.error === null ? null : escapeText(given.error),
    };
    return new Promise((resolve, reject) => this.add({ kind: 'prediction', record, resolve, reject }));
  }

  /** Resolves once the event is durable (staged in PostgreSQL). */
  recordEvent(event: Omit<AdminEventRecord, 'eventId' | 'at'> & Partial<Pick<AdminEventRecord, 'eventId' | 'at'>>): Promise<void> {
    const record: AdminEventRecord = {
      eventId: randomUUID(),
      at: new Date().toISOString(),
      ...event,
      target: escapeStrings(toJsonSafe(event.target)) as Record<string, unknown>,
      before: escapeStrings(toJsonSafe(event.before)),
      after: escapeStrings(toJsonSafe(event.after)),
    };
    return new Promise((resolve, reject) => this.add({ kind: 'event', record, resolve, reject }));
  }

  private add(p: Pending): void {
    this.pending.push(p);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.config.audit.commitsInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending.splice(0, MAX_RECORDS_PER_BATCH);
    if (batch.length === 0) return;
    this.inFlight++;
    try {
      await this.stage(batch);
      for (const p of batch) p.resolve();
    } catch (err) {
      if (batch.length === 1) this.fail(batch, err);
      // Refused as a whole: one record may be what the backend cannot take. Each alone, so it fails alone.
      else await Promise.all(batch.map((p) => this.stage([p]).then(p.resolve, (e: unknown) => this.fail([p], e))));
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async stage(batch: Pending[]): Promise<void> {
    const payload: AuditRecordBatchPayload = {
      payloadVersion: 1,
      predictions: batch.flatMap((p) => (p.kind === 'prediction' ? [p.record] : [])),
      events: batch.flatMap((p) => (p.kind === 'event' ? [p.record] : [])),
    };
    await this.staging.stage(payload);
  }

  private fail(batch: Pending[], err: unknown): void {
    const ids = batch.map((p) => (p.kind === 'prediction' ? p.record.requestId : p.record.eventId));
    const message = 'could not store audit records; the calls that made them fail';
    this.logger.error({ err, records: batch.length, ids: ids.slice(0, 20) }, message);
    const failure = new ServiceUnavailableException('the audit log is unavailable; the call was not completed');
    for (const p of batch) p.reject(failure);
  }
}
