import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { COMMITTED_PREDICTIONS } from './committed-predictions';
import { stagedNeedles, stagedPredictionDto, stagedPredictions, stagedRowHolds, type StagedPredictionDto } from './staged-predictions';
import { EVENT_COLUMNS, PREDICTION_COLUMNS, eventDto, predictionDto, type StoredEvent, type StoredPrediction } from './chain-content';

export interface PredictionFilter {
  model?: string;
  version?: number;
  /** The id the client sent (x-request-id, OIP `id`). */
  clientRequestId?: string;
  /** servedAt ≥ from */
  from?: Date;
  /** servedAt < to */
  to?: Date;
}

export interface EventFilter {
  action?: string;
  /** at ≥ from */
  from?: Date;
  /** at < to */
  to?: Date;
}

export interface PageRequest {
  /** Exclusive seq to continue after (the previous page's nextCursor). */
  cursor?: number;
  limit: number;
  order: 'asc' | 'desc';
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Rows per keyset page of an export. */
const EXPORT_PAGE = 1_000;

/** A WHERE clause assembled from optional conditions with numbered parameters. */
class Where {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  add(condition: (param: string) => string, value: unknown): this {
    if (value !== undefined) this.parts.push(condition(`$${this.params.push(value)}`));
    return this;
  }

  toString(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

/**
 * Reads of the audit log for auditors: keyset pages on seq (stable under concurrent appends), one
 * record by request id, and NDJSON exports produced page by page (never the whole table in memory).
 */
@Injectable()
export class AuditLogReader {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async listPredictions(filter: PredictionFilter, page: PageRequest): Promise<Page<ReturnType<typeof predictionDto>>> {
    const rows = await this.pageOf<StoredPrediction>(PREDICTIONS, PREDICTION_COLUMNS, predictionWhere(filter), page);
    return pageResult(rows.map(predictionDto), page.limit);
  }

  /**
   * One record by the request id its response carried: from the log, or, while the chainer has not
   * chained it yet, from `audit_staging` in the same statement (one snapshot, so an answered
   * prediction is found in one of the two; staged-predictions.ts), in its not-chained form.
   */
  async getPrediction(requestId: string): Promise<ReturnType<typeof predictionDto> | StagedPredictionDto | null> {
    const sql =
      `SELECT p.*, ARRAY(SELECT s.batch FROM audit_staging s WHERE ${stagedRowHolds('s', '$2')} ORDER BY s.id) AS staged ` +
      `FROM (SELECT 1) AS one LEFT JOIN (SELECT ${PREDICTION_COLUMNS} FROM ${PREDICTIONS} WHERE request_id = $1 LIMIT 1) p ON true`;
    const rows = (await this.db.query(sql, [requestId, stagedNeedles('requestId', [requestId])])) as Array<
      StoredPrediction & { staged: string[] }
    >;
    const row = rows[0]!;
    // a chained record wins over a copy a producer's retry may have staged again
    if (row.requestId !== null) return predictionDto(row);
    for (const batch of row.staged) {
      const record = stagedPredictions(batch).find((r) => r.requestId === requestId);
      const dto = record && stagedPredictionDto(record);
      if (dto) return dto;
    }
    return null;
  }

  /** NDJSON lines of the matching prediction records in seq order, one keyset page at a time. */
  async *exportPredictions(filter: PredictionFilter): AsyncGenerator<string> {
    let cursor: number | undefined;
    for (;;) {
      const rows = await this.pageOf<StoredPrediction>(PREDICTIONS, PREDICTION_COLUMNS, predictionWhere(filter), {
        cursor,
        limit: EXPORT_PAGE,
        order: 'asc',
      });
      if (rows.length === 0) return;
      yield rows.map((r) => `${JSON.stringify(predictionDto(r))}\n`).join('');
      if (rows.length <= EXPORT_PAGE) return;
      cursor = Number(rows[rows.length - 1]!.seq);
    }
  }

  async listEvents(filter: EventFilter, page: PageRequest): Promise<Page<ReturnType<typeof eventDto>>> {
    const where = new Where()
      .add((p) => `action = ${p}`, filter.action)
      .add((p) => `at >= ${p}`, filter.from)
      .add((p) => `at < ${p}`, filter.to);
    const rows = await this.pageOf<StoredEvent>('audit_events', EVENT_COLUMNS, where, page);
    return pageResult(rows.map(eventDto), page.limit);
  }

  /** Up to limit + 1 rows after the cursor in seq order (the extra row tells whether a next page exists). */
  private async pageOf<T>(table: string, columns: string, where: Where, page: PageRequest): Promise<T[]> {
    where.add((p) => (page.order === 'asc' ? `seq > ${p}` : `seq < ${p}`), page.cursor);
    const sql = `SELECT ${columns} FROM ${table} ${where} ORDER BY seq ${page.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${page.limit + 1}`;
    return (await this.db.query(sql, where.params)) as T[];
  }
}

/** Only rows the writer committed (committed-predictions.ts), under the table's own name. */
const PREDICTIONS = `${COMMITTED_PREDICTIONS} AS audit_predictions`;

function predictionWhere(filter: PredictionFilter): Where {
  return new Where()
    .add((p) => `model = ${p}`, filter.model)
    .add((p) => `model_version = ${p}`, filter.version)
    .add((p) => `client_request_id = ${p}`, filter.clientRequestId)
    .add((p) => `served_at >= ${p}`, filter.from)
    .add((p) => `served_at < ${p}`, filter.to);
}

function pageResult<T extends { seq: number }>(items: T[], limit: number): Page<T> {
  if (items.length <= limit) return { items, nextCursor: null };
  const kept = items.slice(0, limit);
  return { items: kept, nextCursor: String(kept[kept.length - 1]!.seq) };
}
