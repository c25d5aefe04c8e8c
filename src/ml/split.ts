import { deriveSeed, mulberry32, shuffleInPlace } from './random';
import { TrainingSpecError } from './types';

export interface SplitOptions {
  /** Fraction for validation (default 0.15). */
  validation?: number;
  /** Fraction for test (default 0.15). */
  test?: number;
  /** Stratify by class (default true for classification; ignored for regression). */
  stratify?: boolean;
}

export interface SplitIndices {
  train: number[];
  validation: number[];
  test: number[];
}

export const DEFAULT_SPLIT = { validation: 0.15, test: 0.15 } as const;

/** Checks fractions; returns the resolved ones. */
export function resolveSplit(opts: SplitOptions = {}): { validation: number; test: number } {
  const validation = opts.validation ?? DEFAULT_SPLIT.validation;
  const test = opts.test ?? DEFAULT_SPLIT.test;
  for (const [k, v] of [
    ['split.validation', validation],
    ['split.test', test],
  ] as const) {
    if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new TrainingSpecError(k, 'must be a fraction strictly between 0 and 1');
  }
  if (validation + test >= 0.9) throw new TrainingSpecError('split', 'validation + test must leave at least 10% for training');
  return { validation, test };
}

function cut(group: number[], validation: number, test: number, out: SplitIndices): void {
  const n = group.length;
  let nTest = Math.round(n * test);
  let nVal = Math.round(n * validation);
  // a class with at least 3 rows is represented in every split
  if (n >= 3) {
    nTest = Math.max(1, nTest);
    nVal = Math.max(1, nVal);
  }
  if (nTest + nVal >= n) {
    nTest = Math.min(nTest, Math.max(0, n - 1));
    nVal = Math.max(0, Math.min(nVal, n - 1 - nTest));
  }
  out.test.push(...group.slice(0, nTest));
  out.validation.push(...group.slice(nTest, nTest + nVal));
  out.train.push(...group.slice(nTest + nVal));
}

/**
 * Deterministic seeded split of `n` rows. With `strata` (a class index per row) each class is split
 * separately in the same proportions. Each output list is sorted ascending (row order), so the result
 * depends only on (n, strata, fractions, seed).
 */
export function splitIndices(n: number, seed: number, opts: SplitOptions = {}, strata?: ArrayLike<number>): SplitIndices {
  const { validation, test } = resolveSplit(opts);
  const out: SplitIndices = { train: [], validation: [], test: [] };
  const rand = mulberry32(deriveSeed(seed, 0x5b1177));
  if (strata && opts.stratify !== false) {
    const groups = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const g = strata[i];
      let list = groups.get(g);
      if (!list) groups.set(g, (list = []));
      list.push(i);
    }
    for (const key of [...groups.keys()].sort((a, b) => a - b)) {
      cut(shuffleInPlace(groups.get(key) as number[], rand), validation, test, out);
    }
  } else {
    cut(
      shuffleInPlace(
        Array.from({ length: n }, (_, i) => i),
        rand,
      ),
      validation,
      test,
      out,
    );
  }
  const asc = (a: number, b: number) => a - b;
  out.train.sort(asc);
  out.validation.sort(asc);
  out.test.sort(asc);
  if (out.train.length === 0 || out.validation.length === 0 || out.test.length === 0) {
    throw new TrainingSpecError('split', `${n} rows are too few for train/validation/test splits`);
  }
  return out;
}
