/**
 * Attaches ground truth to logged live predictions. A call is all or nothing: every item is checked
 * (400 naming `items.N.…`), every request id must be a logged live prediction (404 naming the items),
 * and every label must agree with any label already stored (409 naming the items) before one
 * transaction stores them; the same label again is a no-op, so retries are safe.
 *
 * A client may label a prediction as soon as it has the answer, while the audit worker may still be
 * writing its record (the record is durable in the queue before the call is answered, in the log a
 * moment later). So a request id whose live prediction THIS process recorded in the last few seconds
 * (AuditSink.recordedRecently) and that is not in the log yet is waited for, up to RECORD_WAIT_MS;
 * any other unknown id is a 404 at once, so ids the server never issued hold no request open. At most
 * MAX_WAITING_CALLS calls wait at once per process; past that a call that would wait gets 503 (retry).
 * In a split deployment, send feedback to the process that served the prediction, or retry a 404.
 * An id that is no request id may be the client's own (x-request-id / OIP `id` it sent): accepted
 * when exactly one live prediction carries it.
 */
import { ConflictException, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { FieldError } from '../../platform/http/problem-details';
import { ValidationProblemException } from '../../platform/http/validation';
import { FeedbackItem, Normalised, normaliseActual, parseFeedbackBody } from './feedback-input';
import { COMMITTED_PREDICTIONS } from '../log/committed-predictions';
import { LabelSpecs } from './label-specs';
import { AuditSink } from '../audit-sink';

/** Longest wait for the audit record of a just-answered prediction. */
export const RECORD_WAIT_MS = 5_000;
/** Feedback calls waiting for records at once per process. */
export const MAX_WAITING_CALLS = 64;
const POLL_MS = 50;

export interface FeedbackOutcome {
  created: number;
  unchanged: number;
  items: Array<{ requestId: string; model: string; version: number; actual: Normalised; stored: 'created' | 'unchanged' }>;
}

interface LoggedPrediction {
  request_id: string;
  model: string;
  model_version: number | null;
  rows: number;
  status: number;
}

interface Row {
  /** Prefix of error fields (`items.3` or ''). */
  path: string;
  request_id: string;
  actual: Normalised;
  model: string;
  model_version: number;
}

function idField(item: FeedbackItem): string {
  return item.path ? `${item.path}.requestId` : 'requestId';
}

@Injectable()
export class FeedbackService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly specs: LabelSpecs,
    private readonly sink: AuditSink,
  ) {}

  private waitingCalls = 0;
  /** Calls that waited for records since start. */
  private waitedCalls = 0;
  /** How long a call waits for records this process just recorded (tests lengthen it: a loaded machine is slow). */
  recordWaitMs = RECORD_WAIT_MS;

  /** Calls waiting for records now, and calls that waited since start (tests assert on them, not on time). */
  get waits(): { now: number; total: number } {
    return { now: this.waitingCalls, total: this.waitedCalls };
  }

  async submit(body: unknown, callerKeyId: string | null): Promise<FeedbackOutcome> {
    const { items, errors } = parseFeedbackBody(body);
    if (errors.length) throw new ValidationProblemException(errors);

    const byId = await this.logged(items.map((i) => i.requestId));
    const missing = items.filter((i) => !byId.has(i.requestId));
    if (missing.length) {
      throw new NotFoundException({
        message: `${missing.length} request id${missing.length === 1 ? '' : 's'} not found among logged live predictions`,
        errors: missing.map((i) => ({
          field: idField(i),
          reason: `no live prediction '${i.requestId.slice(0, 80)}' in the audit log (give the x-request-id its response carried)`,
        })),
      });
    }

    const rows: Row[] = [];
    const problems: FieldError[] = [];
    for (const item of items) {
      const p = byId.get(item.requestId)!;
      if (p.status >= 400 || p.model_version === null) {
        problems.push({ field: idField(item), reason: `the prediction failed (status ${p.status}); it has no output to label` });
        continue;
      }
      const spec = await this.specs.of(p.model, p.model_version);
      if (!spec) {
        problems.push({
          field: idField(item),
          reason:
            `model ${p.model} version ${p.model_version} has no classification or regression task (imported tensor model); ` +
            `it cannot take feedback`,
        });
        continue;
      }
      const r = normaliseActual(item, spec, p.rows);
      if ('errors' in r) problems.push(...r.errors);
      else rows.push({ path: item.path, request_id: p.request_id, actual: r.value, model: p.model, model_version: p.model_version });
    }
    if (problems.length) throw new ValidationProblemException(problems);

    const created = await this.store(rows, callerKeyId);
    return {
      created: created.size,
      unchanged: rows.length - created.size,
      items: rows.map((r) => ({
        requestId: r.request_id,
        model: r.model,
        version: r.model_version,
        actual: r.actual,
        stored: created.has(r.request_id) ? 'created' : 'unchanged',
      })),
    };
  }

  /** The logged live predictions among `ids`, waiting (bounded) for those this process recorded just now. */
  private async logged(ids: string[]): Promise<Map<string, LoggedPrediction>> {
    const byId = new Map<string, LoggedPrediction>();
    const lookUp = async (wanted: string[]): Promise<void> => {
      const rows: LoggedPrediction[] = await this.db.query(
        `SELECT request_id, model, model_version, rows, status FROM ${COMMITTED_PREDICTIONS} p ` +
          `WHERE request_id = ANY($1::varchar[]) AND kind = 'live'`,
        [wanted],
      );
      for (const p of rows) byId.set(p.request_id, p);
    };
    await lookUp(ids);
    const inFlight = (): string[] => ids.filter((id) => !byId.has(id) && this.sink.recordedRecently(id));
    let wanted = inFlight();
    if (wanted.length > 0) {
      if (this.waitingCalls >= MAX_WAITING_CALLS) {
        throw new ServiceUnavailableException(
          `${MAX_WAITING_CALLS} feedback calls are already waiting for their predictions' audit records; retry in a moment`,
        );
      }
      this.waitingCalls++;
      this.waitedCalls++;
      try {
        const deadline = Date.now() + this.recordWaitMs;
        while (wanted.length > 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          await lookUp(wanted);
          wanted = inFlight();
        }
      } finally {
        this.waitingCalls--;
      }
    }
    const unknown = ids.filter((id) => !byId.has(id));
    if (unknown.length === 0) return byId;
    const byClientId: Array<LoggedPrediction & { client_request_id: string; n: number }> = await this.db.query(
      `SELECT request_id, model, model_version, rows, status, client_request_id, count(*) OVER (PARTITION BY client_request_id)::int AS n
         FROM ${COMMITTED_PREDICTIONS} p WHERE client_request_id = ANY($1::varchar[]) AND kind = 'live'`,
      [unknown],
    );
    for (const p of byClientId) if (p.n === 1) byId.set(p.client_request_id, p);
    return byId;
  }

  /** Inserts new labels and checks the others against what is stored; any conflict rolls the call back. */
  private async store(rows: Row[], callerKeyId: string | null): Promise<Set<string>> {
    const payload = JSON.stringify(rows);
    return this.db.transaction(async (m) => {
      const inserted: Array<{ request_id: string }> = await m.query(
        `INSERT INTO audit_feedback (request_id, actual, received_at, caller_key_id, model, model_version)
         SELECT x.request_id, x.actual, now(), $2, x.model, x.model_version
           FROM jsonb_to_recordset($1::jsonb) AS x(request_id varchar, actual jsonb, model varchar, model_version integer)
         ON CONFLICT (request_id) DO NOTHING
         RETURNING request_id`,
        [payload, callerKeyId],
      );
      const conflicts: Array<{ request_id: string; actual: unknown }> = await m.query(
        `SELECT f.request_id, f.actual
           FROM audit_feedback f
           JOIN jsonb_to_recordset($1::jsonb) AS x(request_id varchar, actual jsonb) ON x.request_id = f.request_id
          WHERE f.actual <> x.actual`,
        [payload],
      );
      if (conflicts.length) {
        const paths = new Map(rows.map((r) => [r.request_id, r.path]));
        throw new ConflictException({
          message:
            `${conflicts.length} prediction${conflicts.length === 1 ? ' is' : 's are'} already labelled differently; ` +
            `labels are immutable`,
          errors: conflicts.map((c) => ({
            field: paths.get(c.request_id) ? `${paths.get(c.request_id)}.actual` : 'actual',
            reason: `request '${c.request_id.slice(0, 80)}' is already labelled ${JSON.stringify(c.actual).slice(0, 200)}`,
          })),
        });
      }
      return new Set(inserted.map((r) => r.request_id));
    });
  }
}
