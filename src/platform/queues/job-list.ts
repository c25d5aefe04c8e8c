/**
 * Lists of queued-job rows as every jobs API pages them (training jobs, batch predictions): filters
 * `status` / `model` / `dataset`, `limit` per page, newest first, keyset-paged on (created_at, id) with
 * the last id of a page as the next page's `cursor`, announced by `x-next-cursor` and `link: rel="next"`.
 */
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { ValidationProblemException } from '../http/validation';
import type { QueuedJobStatus } from './queued-job-row';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const satisfies readonly QueuedJobStatus[];
export const MAX_JOB_PAGE = 1000;
export const DEFAULT_JOB_PAGE = 100;

/** The list query (400 naming the parameter when one is malformed). */
export class JobListQuery {
  @ApiPropertyOptional({ description: `One status or a comma list: ${JOB_STATUSES.join(', ')}`, example: 'queued,running' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').map((v) => v.trim()) : value))
  @IsArray({ message: 'status must be one status or a comma list of statuses' })
  @IsIn(JOB_STATUSES, { each: true, message: `status must be one or more of ${JOB_STATUSES.join(', ')} (comma separated)` })
  status?: Array<(typeof JOB_STATUSES)[number]>;

  @ApiPropertyOptional({ description: 'Registry name of the model the jobs use' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  model?: string;

  @ApiPropertyOptional({ description: 'A dataset (id or name: jobs on any of its versions) or one dataset version id' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  dataset?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_JOB_PAGE, default: DEFAULT_JOB_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: `limit must be an integer from 1 to ${MAX_JOB_PAGE}` })
  @Min(1, { message: `limit must be an integer from 1 to ${MAX_JOB_PAGE}` })
  @Max(MAX_JOB_PAGE, { message: `limit must be an integer from 1 to ${MAX_JOB_PAGE}` })
  limit?: number;

  @ApiPropertyOptional({ description: 'The `x-next-cursor` header of the previous page (also in its `link: <…>; rel="next"`)' })
  @IsOptional()
  @IsUUID('all', { message: 'cursor must be the x-next-cursor of a previous page' })
  cursor?: string;
}

/** The page headers of a list answer, documented once for every jobs API. */
export const JOB_PAGE_HEADERS = {
  'x-next-cursor': { description: 'Pass as `cursor` for the next page; absent on the last page', schema: { type: 'string' } },
  link: { description: 'RFC 8288 link to the next page (rel="next"); absent on the last page', schema: { type: 'string' } },
};

/**
 * One page of a job table (alias `alias`; its rows have `status`, `model_name` and `dataset_version_id`),
 * filtered by `q` and newest first: `limit + 1` rows are read to know whether another page follows.
 * `versionIdsOf` resolves `dataset` (an id or name: all its versions; or one version id). An unknown
 * cursor is a 400 naming it.
 */
export async function jobPage<T extends ObjectLiteral & { id: string }>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  q: JobListQuery,
  versionIdsOf: (dataset: string) => Promise<string[]>,
): Promise<{ rows: T[]; nextCursor: string | null }> {
  if (q.status?.length) qb.andWhere(`${alias}.status IN (:...status)`, { status: q.status });
  if (q.model !== undefined) qb.andWhere(`${alias}.model_name = :model`, { model: q.model });
  if (q.dataset !== undefined) {
    const versionIds = await versionIdsOf(q.dataset);
    if (versionIds.length === 0) return { rows: [], nextCursor: null };
    qb.andWhere(`${alias}.dataset_version_id IN (:...versionIds)`, { versionIds });
  }
  const limit = q.limit ?? DEFAULT_JOB_PAGE;
  const table = qb.expressionMap.mainAlias!.metadata.tableName;
  if (q.cursor !== undefined) {
    const [found] = (await qb.connection.query(`SELECT 1 FROM ${table} WHERE id = $1`, [q.cursor])) as unknown[];
    if (!found)
      throw new ValidationProblemException([{ field: 'cursor', reason: 'must be the x-next-cursor of a previous page (no such job)' }]);
    qb.andWhere(`(${alias}.created_at, ${alias}.id) < (SELECT c.created_at, c.id FROM ${table} c WHERE c.id = :cursor)`, {
      cursor: q.cursor,
    });
  }
  const rows = await qb
    .orderBy(`${alias}.created_at`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .limit(limit + 1)
    .getMany();
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
}

/** Announces the next page: `x-next-cursor` and `link: <path?…&cursor=…>; rel="next"` (the request's other parameters kept). */
export function announceNextPage(req: FastifyRequest, reply: FastifyReply, path: string, nextCursor: string | null): void {
  if (!nextCursor) return;
  const next = new URLSearchParams(req.query as Record<string, string>);
  next.set('cursor', nextCursor);
  void reply.header('x-next-cursor', nextCursor);
  void reply.header('link', `<${path}?${next.toString()}>; rel="next"`);
}
