/** Query parameters and response shapes of the audit log APIs (validated by the global pipe: 400 naming the field). */
import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { ValidationProblemException } from '../../platform/http/validation';
import { MAX_VERSION_NUMBER } from '../../models';
import type { ChainBound } from './chain-verifier.service';

export const MAX_PAGE = 1000;
const CURSOR = /^\d{1,15}$/;
const CURSOR_MESSAGE = '$property must be the nextCursor of a previous page';
const ISO_MESSAGE = '$property must be an ISO 8601 time';

class PageQuery {
  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(CURSOR, { message: CURSOR_MESSAGE })
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit?: number;

  @ApiPropertyOptional({ enum: ['desc', 'asc'], default: 'desc', description: 'by seq: newest first (default) or oldest first' })
  @IsOptional()
  @IsIn(['desc', 'asc'])
  order?: 'desc' | 'asc';
}

export class PredictionFilterQuery {
  @ApiPropertyOptional({ description: 'model name' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  model?: string;

  @ApiPropertyOptional({ description: 'model version (needs model)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_VERSION_NUMBER)
  version?: number;

  @ApiPropertyOptional({ description: 'the id the client sent (x-request-id, OIP `id`); several calls may share it' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  clientRequestId?: string;

  @ApiPropertyOptional({ description: 'servedAt ≥ from (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: ISO_MESSAGE })
  from?: string;

  @ApiPropertyOptional({ description: 'servedAt < to (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: ISO_MESSAGE })
  to?: string;
}

export class PredictionsQueryDto extends IntersectionType(PredictionFilterQuery, PageQuery) {}

export class EventsQueryDto extends PageQuery {
  @ApiPropertyOptional({ description: 'exact action, e.g. alias.moved' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  action?: string;

  @ApiPropertyOptional({ description: 'at ≥ from (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: ISO_MESSAGE })
  from?: string;

  @ApiPropertyOptional({ description: 'at < to (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: ISO_MESSAGE })
  to?: string;
}

export class VerifyQueryDto {
  @ApiPropertyOptional({ enum: ['predictions', 'events'], description: 'one chain; without it every chain is verified' })
  @IsOptional()
  @IsIn(['predictions', 'events'])
  chain?: 'predictions' | 'events';

  @ApiPropertyOptional({ description: 'a seq (inclusive) or an ISO 8601 time (records logged at or after it)' })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({ description: 'a seq (inclusive) or an ISO 8601 time (records logged before it)' })
  @IsOptional()
  @IsString()
  to?: string;
}

export class PageDto {
  @ApiProperty({ type: 'array', items: { type: 'object' } }) items!: unknown[];
  @ApiPropertyOptional({ nullable: true, type: String, description: 'pass as cursor for the next page; null on the last page' })
  nextCursor!: string | null;
}

/** A time query parameter (already ISO-validated) as a Date. */
export function timeParam(value: string | undefined): Date | undefined {
  return value === undefined ? undefined : new Date(value);
}

/** A verify bound: digits → seq, otherwise an ISO 8601 time; 400 naming the field otherwise. */
export function parseBound(field: 'from' | 'to', value: string | undefined): ChainBound | undefined {
  if (value === undefined) return undefined;
  if (/^\d{1,15}$/.test(value)) return { seq: Number(value) };
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : null;
  if (!time || Number.isNaN(time.getTime()))
    throw new ValidationProblemException([{ field, reason: 'must be a seq (digits) or an ISO 8601 time' }]);
  return { time };
}
