import type { Table } from '../types';
import { TrainingSpecError } from '../types';

/** Which columns of an interaction table hold the user, the item and, optionally, a rating and a time. */
export interface InteractionColumns {
  user: string;
  item: string;
  /** Explicit feedback (a numeric rating): squared-error training and RMSE. Absent: implicit feedback. */
  rating?: string;
  /** When present, each user's newest interactions are held out; else a seeded per-user holdout. */
  timestamp?: string;
}

export type ImplicitLoss = 'bpr' | 'binary';

export interface RecommenderHyperparameters {
  /** Latent factors per user and item. */
  embeddingSize: number;
  epochs: number;
  /** Interactions per optimiser step. */
  batchSize: number;
  learningRate: number;
  /** Implicit feedback: items sampled as negatives per observed (positive) interaction. */
  negatives: number;
  /** Implicit feedback: 'bpr' (pairwise, Rendle et al. 2009) or 'binary' (logistic on positives vs sampled negatives). */
  loss: ImplicitLoss;
  /** L2 penalty on the embeddings and biases of each batch. */
  l2: number;
  /** Cut-off K of the stored top-K metrics. */
  k: number;
  seed: number;
  /**
   * Epochs without a better validation metric (NDCG@K; RMSE with ratings) before training stops; the
   * best epoch's factors are kept either way. 0 disables early stopping (as the tabular templates).
   */
  earlyStoppingPatience: number;
}

export const DEFAULT_RECOMMENDER_HYPERPARAMETERS: RecommenderHyperparameters = {
  embeddingSize: 32,
  epochs: 20,
  batchSize: 512,
  learningRate: 0.01,
  negatives: 4,
  loss: 'bpr',
  l2: 1e-4,
  k: 10,
  seed: 42,
  earlyStoppingPatience: 5,
};

export interface RecommenderSplitOptions {
  /** Fraction of each user's interactions for validation (default 0.1). */
  validation?: number;
  /** Fraction of each user's interactions for test (default 0.2; at least one per user with ≥ 2). */
  test?: number;
}

export interface RecommenderSpec {
  table: Table;
  columns: InteractionColumns;
  hyperparameters?: Partial<RecommenderHyperparameters>;
  split?: RecommenderSplitOptions;
}

const ID_TYPES = new Set(['integer', 'string', 'categorical']);
const RATING_TYPES = new Set(['number', 'integer']);
const TIME_TYPES = new Set(['timestamp', 'number', 'integer']);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function check(cond: boolean, field: string, reason: string): void {
  if (!cond) throw new TrainingSpecError(`hyperparameters.${field}`, reason);
}

/** Fills defaults and validates every value (TrainingSpecError names the field). */
export function resolveRecommenderHyperparameters(given: Partial<RecommenderHyperparameters> = {}): RecommenderHyperparameters {
  for (const [k, v] of Object.entries(given)) {
    if (v !== undefined && !(k in DEFAULT_RECOMMENDER_HYPERPARAMETERS))
      throw new TrainingSpecError(`hyperparameters.${k}`, 'unknown hyperparameter of the recommender template');
  }
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<RecommenderHyperparameters>;
  const hp: RecommenderHyperparameters = { ...DEFAULT_RECOMMENDER_HYPERPARAMETERS, ...defined };
  check(isInt(hp.embeddingSize) && hp.embeddingSize >= 1 && hp.embeddingSize <= 512, 'embeddingSize', 'must be an integer from 1 to 512');
  check(isInt(hp.epochs) && hp.epochs >= 1 && hp.epochs <= 1000, 'epochs', 'must be an integer from 1 to 1000');
  check(isInt(hp.batchSize) && hp.batchSize >= 1 && hp.batchSize <= 65_536, 'batchSize', 'must be an integer from 1 to 65536');
  check(isNum(hp.learningRate) && hp.learningRate > 0 && hp.learningRate <= 10, 'learningRate', 'must be a number in (0, 10]');
  check(isInt(hp.negatives) && hp.negatives >= 1 && hp.negatives <= 100, 'negatives', 'must be an integer from 1 to 100');
  check(hp.loss === 'bpr' || hp.loss === 'binary', 'loss', "must be 'bpr' or 'binary'");
  check(isNum(hp.l2) && hp.l2 >= 0 && hp.l2 <= 10, 'l2', 'must be a number from 0 to 10');
  check(isInt(hp.k) && hp.k >= 1 && hp.k <= 1000, 'k', 'must be an integer from 1 to 1000');
  check(isInt(hp.seed) && hp.seed >= 0 && hp.seed <= 0xffffffff, 'seed', 'must be an integer from 0 to 2^32-1');
  check(
    isInt(hp.earlyStoppingPatience) && hp.earlyStoppingPatience >= 0 && hp.earlyStoppingPatience <= 1000,
    'earlyStoppingPatience',
    'must be an integer from 0 to 1000 (0 disables)',
  );
  return hp;
}

/** Per-user holdout fractions, checked. */
export function resolveRecommenderSplit(opts: RecommenderSplitOptions = {}): { validation: number; test: number } {
  const validation = opts.validation ?? 0.1;
  const test = opts.test ?? 0.2;
  for (const [field, v] of [
    ['split.validation', validation],
    ['split.test', test],
  ] as const) {
    if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new TrainingSpecError(field, 'must be a fraction strictly between 0 and 1');
  }
  if (validation + test >= 0.9) throw new TrainingSpecError('split', 'validation + test must leave at least 10% for training');
  return { validation, test };
}

/**
 * The column checks that need only the schema (the API runs them before queueing; the trainer again):
 * user and item must be id columns (integer, string or categorical), rating numeric, timestamp a
 * timestamp or a number; all distinct.
 */
export function checkInteractionColumns(columns: Array<{ name: string; type: string }>, spec: unknown): InteractionColumns {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    throw new TrainingSpecError('columns', 'must be an object {user, item, rating?, timestamp?}');
  const c = spec as Record<string, unknown>;
  const types = new Map(columns.map((col) => [col.name, col.type]));
  const names = columns.map((col) => col.name).join(', ');
  for (const k of Object.keys(c)) {
    if (!['user', 'item', 'rating', 'timestamp'].includes(k))
      throw new TrainingSpecError(`columns.${k}`, 'unknown role (user, item, rating, timestamp)');
  }
  const roles: Array<[keyof InteractionColumns, Set<string>, string, boolean]> = [
    ['user', ID_TYPES, 'an id column (integer, string or categorical)', true],
    ['item', ID_TYPES, 'an id column (integer, string or categorical)', true],
    ['rating', RATING_TYPES, 'a numeric column (number or integer)', false],
    ['timestamp', TIME_TYPES, 'a timestamp or numeric column', false],
  ];
  const seen = new Map<string, string>();
  for (const [role, allowed, what, required] of roles) {
    const name = c[role];
    if (name === undefined && !required) continue;
    if (typeof name !== 'string' || name.length === 0) throw new TrainingSpecError(`columns.${role}`, 'must name a column of the dataset');
    const type = types.get(name);
    if (type === undefined) throw new TrainingSpecError(`columns.${role}`, `'${name}' is not a column of the dataset (columns: ${names})`);
    if (!allowed.has(type)) throw new TrainingSpecError(`columns.${role}`, `'${name}' is ${type}; the ${role} must be ${what}`);
    const other = seen.get(name);
    if (other) throw new TrainingSpecError(`columns.${role}`, `'${name}' is already the ${other} column`);
    seen.set(name, role);
  }
  return {
    user: c['user'] as string,
    item: c['item'] as string,
    ...(typeof c['rating'] === 'string' ? { rating: c['rating'] } : {}),
    ...(typeof c['timestamp'] === 'string' ? { timestamp: c['timestamp'] } : {}),
  };
}

/** The scalar metrics of a recommender version (keys of its metrics object); rmse only with ratings. */
export const RECOMMENDER_METRICS: readonly string[] = ['ndcgAtK', 'precisionAtK', 'recallAtK', 'mapAtK', 'coverage', 'rmse'];
