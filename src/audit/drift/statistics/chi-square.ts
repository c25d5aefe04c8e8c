import gammainc = require('@stdlib/math-base-special-gammainc');

/**
 * Chi-square test of homogeneity for a 2 × k table (reference counts vs current counts per
 * category). The p-value is the upper regularised incomplete gamma function Q(dof/2, χ²/2),
 * taken from @stdlib/math-base-special-gammainc (stdlib's port of the Boost implementation).
 * No Yates continuity correction is applied (it only concerns 2 × 2 tables and is conservative).
 */

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  /** Degrees of freedom: (rows − 1)(k − 1) = k − 1 over the categories that have any count. */
  dof: number;
}

/** Survival function of the chi-square distribution: P(X > x) for X ~ χ²(dof). */
export function chiSquareSurvival(x: number, dof: number): number {
  if (Number.isNaN(x) || !(dof > 0)) return Number.NaN;
  if (x <= 0) return 1;
  return gammainc(x / 2, dof / 2, true, true);
}

/**
 * Chi-square test of homogeneity between two count vectors aligned by category.
 * Categories with no count on either side are dropped; with fewer than two categories left the
 * two samples cannot differ and the result is χ² = 0, p = 1, dof = 0.
 */
export function chiSquareHomogeneity(reference: readonly number[], current: readonly number[]): ChiSquareResult {
  if (reference.length !== current.length) {
    throw new RangeError('chiSquareHomogeneity: count vectors must have the same length');
  }
  const cols: Array<[number, number]> = [];
  let r1 = 0;
  let r2 = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = reference[i];
    const b = current[i];
    if (!(a >= 0) || !(b >= 0)) throw new RangeError('chiSquareHomogeneity: counts must be non-negative numbers');
    if (a + b > 0) {
      cols.push([a, b]);
      r1 += a;
      r2 += b;
    }
  }
  if (r1 === 0 || r2 === 0) throw new RangeError('chiSquareHomogeneity: both samples must be non-empty');
  const total = r1 + r2;
  if (cols.length < 2) return { statistic: 0, pValue: 1, dof: 0 };
  let statistic = 0;
  for (const [a, b] of cols) {
    const colTotal = a + b;
    const ea = (r1 * colTotal) / total;
    const eb = (r2 * colTotal) / total;
    statistic += ((a - ea) * (a - ea)) / ea + ((b - eb) * (b - eb)) / eb;
  }
  const dof = cols.length - 1;
  return { statistic, pValue: chiSquareSurvival(statistic, dof), dof };
}
