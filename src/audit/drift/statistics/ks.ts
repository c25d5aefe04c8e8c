/**
 * Two-sample Kolmogorov–Smirnov test.
 *
 * The p-value is the asymptotic one with Stephens' (1970) small-sample correction, as in
 * Numerical Recipes' `kstwo` and SciPy's `ks_2samp` up to 1.2:
 *   en = sqrt(n·m / (n + m)),  λ = (en + 0.12 + 0.11 / en) · D,  p = Q_KS(λ)
 * where Q_KS is the survival function of the Kolmogorov distribution.
 */

export interface KsResult {
  /** D = sup |F_a(x) − F_b(x)| over the empirical CDFs. */
  statistic: number;
  pValue: number;
  n1: number;
  n2: number;
}

function sortedFinite(values: readonly number[]): Float64Array {
  const out = new Float64Array(values.length);
  let k = 0;
  for (const v of values) if (Number.isFinite(v)) out[k++] = v;
  return out.subarray(0, k).sort();
}

/** D statistic for two samples that are already sorted ascending (ties handled). */
export function ksStatisticSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) throw new RangeError('ksStatistic: both samples must be non-empty');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const x = Math.min(a[i], b[j]);
    while (i < n && a[i] <= x) i++;
    while (j < m && b[j] <= x) j++;
    const diff = Math.abs(i / n - j / m);
    if (diff > d) d = diff;
  }
  // Once one sample is exhausted its CDF is 1; the other only rises towards 1, so the
  // largest gap is already seen.
  return d;
}

/** Two-sample KS statistic D. Non-finite values are ignored. */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  return ksStatisticSorted(sortedFinite(a), sortedFinite(b));
}

/**
 * Survival function of the Kolmogorov distribution, Q(λ) = P(K > λ)
 *   = 2 Σ_{j≥1} (−1)^{j−1} exp(−2 j² λ²).
 * For small λ that alternating series converges slowly, so the equivalent theta-function form
 *   P(K ≤ λ) = √(2π)/λ · Σ_{j≥1} exp(−(2j−1)² π² / (8 λ²))
 * is used there instead (both are accurate to double precision with a handful of terms).
 */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) return Number.NaN;
  if (lambda <= 0) return 1;
  if (lambda < 1.18) {
    const k = (Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let j = 1; j <= 20; j++) {
      const t = Math.exp(-(2 * j - 1) * (2 * j - 1) * k);
      sum += t;
      if (t < 1e-17 * sum) break;
    }
    const cdf = (Math.sqrt(2 * Math.PI) / lambda) * sum;
    return clamp01(1 - cdf);
  }
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const t = Math.exp(-2 * j * j * lambda * lambda);
    sum += j % 2 === 1 ? t : -t;
    if (t < 1e-17 * Math.abs(sum)) break;
  }
  return clamp01(2 * sum);
}

/** Asymptotic p-value for a two-sample D with Stephens' correction (see file comment). */
export function ksPValue(statistic: number, n1: number, n2: number): number {
  const en = Math.sqrt((n1 * n2) / (n1 + n2));
  return kolmogorovSurvival((en + 0.12 + 0.11 / en) * statistic);
}

/** Two-sample KS test (two-sided). Non-finite values are ignored; both samples must keep a value. */
export function ksTwoSample(a: readonly number[], b: readonly number[]): KsResult {
  const sa = sortedFinite(a);
  const sb = sortedFinite(b);
  const statistic = ksStatisticSorted(sa, sb);
  return { statistic, pValue: ksPValue(statistic, sa.length, sb.length), n1: sa.length, n2: sb.length };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
