/**
 * Attaches ground truth to logged live predictions. A call is all or nothing: every item is checked
 * (400 naming `items.N.…`), every request id must be a recorded live prediction (404 naming the items),
 * and every label must agree with any label already stored (409 naming the items) before one
 * transaction stores them; the same label again is a no-op, so retries are safe.
 *
 * A client may label a prediction as soon as it has the answer, while the chainer may not have moved
 * its record into the hash-chained log yet (however far behind it is, in whichever process): it is
 * looked up in the log and in `audit_staging` in one statement (log/staged-predictions.ts), with no
 * wait. Unknown ids are a 404 at once.
 * An id that is no request id may be the client's own (x-request-id / OIP `id` it sent): accepted
 * when exactly one live prediction carries it.
 */
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { AuditPredictionRecord } from '../../contracts';
import type { FieldError } from '../../platform/http/problem-details';
import { ValidationProblemException } from '../../platform/http/validation';
import { FeedbackItem, Normalised, normaliseActual, parseFeedbackBody } from './feedback-input';
import { COMMITTED_PREDICTIONS } from '../log/committed-predictions';
import { stagedNeedles, stagedPredictions, stagedRowHolds, type StagedIdField } from '../log/staged-predictions';
import { LabelSpecs } from './label-specs';

export interface FeedbackOutcome {
  created: number;
  unchanged: number;
  items: Array<{ requestId: string; model: string; version: number; actual: Normalised; stored: 'created' | 'unchanged' }>;
}

interface LoggedPrediction {
  request_id: string;
  client_request_id: string | null;
  model: string;
  model_version: number | null;
  rows: number;
  status: number;
}

const COLUMN: Record<StagedIdField, string> = { requestId: 'request_id', clientRequestId: 'client_request_id' };

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
  ) {}

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

  /** The recorded live predictions among `ids`: by request id, else by the client's own id when exactly one carries it. */
  private async logged(ids: string[]): Promise<Map<string, LoggedPrediction>> {
    const byId = new Map<string, LoggedPrediction>();
    for (const p of await this.recorded('requestId', ids)) byId.set(p.request_id, p);
    const unknown = ids.filter((id) => !byId.has(id));
    if (unknown.length === 0) return byId;
    const byClientId = new Map<string, LoggedPrediction[]>();
    for (const p of await this.recorded('clientRequestId', unknown)) {
      byClientId.set(p.client_request_id!, [...(byClientId.get(p.client_request_id!) ?? []), p]);
    }
    for (const [id, ps] of byClientId) if (ps.length === 1) byId.set(id, ps[0]!);
    return byId;
  }

  /**
   * The live predictions whose `field` is one of `values`, chained or staged (one statement, so one
   * snapshot: a record the chainer moves meanwhile is seen once), each request id once. A staged
   * batch is a text column: it is matched by its JSON text, then parsed here.
   */
  private async recorded(field: StagedIdField, values: string[]): Promise<LoggedPrediction[]> {
    const rows: Array<LoggedPrediction & { batch: string | null }> = await this.db.query(
      `SELECT request_id, client_request_id, model, model_version, rows, status, NULL::text AS batch
         FROM ${COMMITTED_PREDICTIONS} p WHERE ${COLUMN[field]} = ANY($1::varchar[]) AND kind = 'live'
       UNION ALL
       SELECT NULL, NULL, NULL, NULL, NULL, NULL, s.batch FROM audit_staging s WHERE ${stagedRowHolds('s', '$2')}`,
      [values, stagedNeedles(field, values)],
    );
    const wanted = new Set(values);
    const found = new Map<string, LoggedPrediction>();
    for (const { batch } of rows) {
      if (batch !== null) for (const r of livePredictions(batch)) if (wanted.has(r[field] as string)) found.set(r.requestId, loggedForm(r));
    }
    // a chained record wins over a copy a producer's retry may have staged again
    for (const { batch, ...logged } of rows) if (batch === null) found.set(logged.request_id, logged);
    return [...found.values()];
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

function livePredictions(batch: string): AuditPredictionRecord[] {
  return stagedPredictions(batch).filter((r) => r.kind === 'live');
}

/** A staged record as the log will hold it (the log's text columns keep what AuditSink staged). */
function loggedForm(r: AuditPredictionRecord): LoggedPrediction {
  return {
    request_id: r.requestId,
    client_request_id: r.clientRequestId ?? null,
    model: r.model,
    model_version: r.version ?? null,
    rows: r.rows,
    status: r.status,
  };
}
