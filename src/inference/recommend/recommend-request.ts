import { BadRequestException } from '@nestjs/common';
import { ValidationProblemException } from '../../platform/http/validation';

/** Largest `k` a caller may ask for. */
export const MAX_K = 1000;
export const DEFAULT_K = 10;
/** Items a caller may list in `exclude`. */
export const MAX_EXCLUDE = 10_000;

export interface RecommendRequest {
  user: string;
  k: number;
  exclude: string[];
  filterSeen: boolean;
}

export interface SimilarItemsRequest {
  item: string;
  k: number;
  exclude: string[];
}

type Field = { field: string; reason: string };

const isId = (v: unknown): v is string | number =>
  (typeof v === 'string' && v.length > 0 && v.length <= 1000) || (typeof v === 'number' && Number.isFinite(v));

function object(body: unknown, shape: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new BadRequestException(`body: must be a JSON object ${shape}`);
  return body as Record<string, unknown>;
}

function common(b: Record<string, unknown>, allowed: string[], errors: Field[]): { k: number; exclude: string[] } {
  for (const key of Object.keys(b)) {
    if (!allowed.includes(key)) errors.push({ field: key, reason: `is not a known property (expected ${allowed.join(', ')})` });
  }
  const k = b['k'] ?? DEFAULT_K;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K)
    errors.push({ field: 'k', reason: `must be an integer from 1 to ${MAX_K}` });
  const exclude = b['exclude'] ?? [];
  if (!Array.isArray(exclude) || exclude.length > MAX_EXCLUDE) {
    errors.push({ field: 'exclude', reason: `must be an array of at most ${MAX_EXCLUDE} item ids` });
    return { k: k as number, exclude: [] };
  }
  exclude.forEach((e, i) => {
    if (!isId(e)) errors.push({ field: `exclude.${i}`, reason: 'must be an item id (a non-empty string or a number)' });
  });
  return { k: k as number, exclude: exclude.map(String) };
}

/** `{user, k?, exclude?, filterSeen?}`; every problem named by field (400). */
export function parseRecommendRequest(body: unknown): RecommendRequest {
  const b = object(body, '{user, k?, exclude?, filterSeen?}');
  const errors: Field[] = [];
  const { k, exclude } = common(b, ['user', 'k', 'exclude', 'filterSeen'], errors);
  if (!isId(b['user'])) errors.push({ field: 'user', reason: 'is required: a user id (a non-empty string or a number)' });
  const filterSeen = b['filterSeen'] ?? true;
  if (typeof filterSeen !== 'boolean') errors.push({ field: 'filterSeen', reason: 'must be true or false' });
  if (errors.length) throw new ValidationProblemException(errors);
  return { user: String(b['user'] as string | number), k, exclude, filterSeen: filterSeen as boolean };
}

/** `{item, k?, exclude?}`. */
export function parseSimilarItemsRequest(body: unknown): SimilarItemsRequest {
  const b = object(body, '{item, k?, exclude?}');
  const errors: Field[] = [];
  const { k, exclude } = common(b, ['item', 'k', 'exclude'], errors);
  if (!isId(b['item'])) errors.push({ field: 'item', reason: 'is required: an item id (a non-empty string or a number)' });
  if (errors.length) throw new ValidationProblemException(errors);
  return { item: String(b['item'] as string | number), k, exclude };
}
