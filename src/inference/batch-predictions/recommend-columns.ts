/**
 * Pure parts of batch recommendations (a batch prediction job of a recommender version): the job's
 * options, checked field by field, and the output it writes — one row per (user, rank):
 *
 *   user      the user id as the input column holds it (integer or string)
 *   rank      1 … k, best first
 *   item      the item id (integer when the model's item column was an integer column)
 *   score     the model's score; for an unknown user, the item's training interactions
 *   fallback  true when the user is not in the version's training data (the popularity list)
 */
import type { ColumnSchema } from '../../ingestion';
import { DEFAULT_K, MAX_EXCLUDE, MAX_K } from '../recommend/recommend-request';
import type { OutputSchemaColumn } from './prediction-columns';

/** `recommend` of a batch prediction request, as given. */
export interface RecommendBatchOptions {
  k: number;
  filterSeen: boolean;
  exclude: string[];
}

/** Stored on the job row (`batch_predictions.recommend`): the options plus, once started, the output's id types. */
export interface RecommendJobOptions extends RecommendBatchOptions {
  /** The input column that names the users (the model's user column). */
  userColumn?: string;
  userType?: 'integer' | 'string';
  itemType?: 'integer' | 'string';
}

/** The output columns every batch recommendation writes, in order. */
export const RECOMMEND_OUTPUT_COLUMNS = ['user', 'rank', 'item', 'score', 'fallback'] as const;

type Field = { field: string; reason: string };

const isId = (v: unknown): v is string | number =>
  (typeof v === 'string' && v.length > 0 && v.length <= 1000) || (typeof v === 'number' && Number.isFinite(v));

/** `{k?, filterSeen?, exclude?}` → options, or the field errors (named `recommend.<field>`). */
export function parseRecommendBatchOptions(given: unknown): { options: RecommendBatchOptions; errors: Field[] } {
  const errors: Field[] = [];
  const options: RecommendBatchOptions = { k: DEFAULT_K, filterSeen: true, exclude: [] };
  if (given === undefined || given === null) return { options, errors };
  if (typeof given !== 'object' || Array.isArray(given)) {
    errors.push({ field: 'recommend', reason: 'must be an object {k?, filterSeen?, exclude?}' });
    return { options, errors };
  }
  const o = given as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['k', 'filterSeen', 'exclude'].includes(key))
      errors.push({ field: `recommend.${key}`, reason: 'is not a known property (expected k, filterSeen, exclude)' });
  }
  const k = o['k'] ?? DEFAULT_K;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K)
    errors.push({ field: 'recommend.k', reason: `must be an integer from 1 to ${MAX_K}` });
  else options.k = k;
  const filterSeen = o['filterSeen'] ?? true;
  if (typeof filterSeen !== 'boolean') errors.push({ field: 'recommend.filterSeen', reason: 'must be true or false' });
  else options.filterSeen = filterSeen;
  const exclude = o['exclude'] ?? [];
  if (!Array.isArray(exclude) || exclude.length > MAX_EXCLUDE) {
    errors.push({ field: 'recommend.exclude', reason: `must be an array of at most ${MAX_EXCLUDE} item ids` });
  } else {
    exclude.forEach((e, i) => {
      if (!isId(e)) errors.push({ field: `recommend.exclude.${i}`, reason: 'must be an item id (a non-empty string or a number)' });
    });
    options.exclude = exclude.filter(isId).map(String);
  }
  return { options, errors };
}

/** The output schema handed to ingestion. */
export function recommendOutputSchema(o: RecommendJobOptions): OutputSchemaColumn[] {
  return [
    { name: 'user', type: o.userType ?? 'string', nullable: false },
    { name: 'rank', type: 'integer', nullable: false },
    { name: 'item', type: o.itemType ?? 'string', nullable: false },
    { name: 'score', type: 'number', nullable: false },
    { name: 'fallback', type: 'boolean', nullable: false },
  ];
}

/** integer for an integer input column, else string (categorical and string ids are written as text). */
export function idColumnType(column: Pick<ColumnSchema, 'type'> | undefined): 'integer' | 'string' {
  return column?.type === 'integer' ? 'integer' : 'string';
}

/** A user's list as output rows. */
export function recommendationRows(
  user: string | number,
  items: ReadonlyArray<{ item: string | number; score: number }>,
  fallback: boolean,
): Array<Record<string, string | number | boolean>> {
  return items.map((x, i) => ({ user, rank: i + 1, item: x.item, score: x.score, fallback }));
}
