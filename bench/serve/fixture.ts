/**
 * The serving benchmark's generated table (a bench fixture, not real data): seeded standard-normal
 * numeric features `f000…f099` and a binary label `yes`/`no` drawn from a logistic ground truth over
 * all features (fixed seeded weights), so a model trained on any prefix of the features learns
 * something. Values are rounded to 3 decimals to keep the `{records}` upload small.
 */
import { mulberry32 } from '../../src/platform/util/seeded-random';

/** The table and the request bodies are the same every run (Kiln's seeded PRNG). */
export const seededRandom = mulberry32;

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export const featureNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `f${String(i).padStart(3, '0')}`);

export interface GeneratedTable {
  records: Array<Record<string, number | string>>;
  columns: Array<{ name: string; type: 'number' | 'categorical' }>;
}

/** `rows` rows of `features` numeric columns plus `label` (P(yes) = sigmoid(w·x + b)). */
export function generateTable(rows: number, features: number, seed: number): GeneratedTable {
  const rand = seededRandom(seed);
  const names = featureNames(features);
  const weights = names.map(() => (normal(rand) * 2) / Math.sqrt(features));
  const records: GeneratedTable['records'] = [];
  for (let r = 0; r < rows; r++) {
    const rec: Record<string, number | string> = {};
    let logit = -0.2;
    names.forEach((name, j) => {
      const x = round3(normal(rand));
      rec[name] = x;
      logit += weights[j]! * x;
    });
    rec.label = rand() < 1 / (1 + Math.exp(-logit)) ? 'yes' : 'no';
    records.push(rec);
  }
  return { records, columns: [...names.map((name) => ({ name, type: 'number' as const })), { name: 'label', type: 'categorical' }] };
}

/** The JSON body of one predict request: one record with the given features (seeded values). */
export function predictBody(features: string[], seed: number): string {
  const rand = seededRandom(seed);
  return JSON.stringify({ records: [Object.fromEntries(features.map((f) => [f, round3(normal(rand))]))] });
}
