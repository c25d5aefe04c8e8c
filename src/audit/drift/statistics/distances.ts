/**
 * Distance-type drift scores: Wasserstein-1 (normalised by the reference std), Jensen–Shannon
 * distance and the Population Stability Index.
 */

/** Default epsilon substituted for an empty bin's proportion in PSI. */
export const PSI_EPSILON = 1e-4;

/** Smallest std used to normalise a Wasserstein distance (guards constant reference columns). */
export const MIN_NORMALISING_STD = 1e-3;

function sortedFinite(values: readonly number[]): Float64Array {
  const out = new Float64Array(values.length);
  let k = 0;
  for (const v of values) if (Number.isFinite(v)) out[k++] = v;
  return out.subarray(0, k).sort();
}

/**
 * Wasserstein-1 (earth mover's) distance between two empirical distributions:
 * W₁ = ∫ |F_a(x) − F_b(x)| dx, integrated exactly over the merged sorted sample.
 * Non-finite values are ignored; both samples must keep a value.
 */
export function wasserstein1(a: readonly number[], b: readonly number[]): number {
  const sa = sortedFinite(a);
  const sb = sortedFinite(b);
  const n = sa.length;
  const m = sb.length;
  if (n === 0 || m === 0) throw new RangeError('wasserstein1: both samples must be non-empty');
  let i = 0;
  let j = 0;
  let total = 0;
  let prev = Math.min(sa[0], sb[0]);
  while (i < n || j < m) {
    const x = j >= m || (i < n && sa[i] <= sb[j]) ? sa[i] : sb[j];
    // F_a and F_b are constant on [prev, x): they count the values < x seen so far.
    total += Math.abs(i / n - j / m) * (x - prev);
    while (i < n && sa[i] <= x) i++;
    while (j < m && sb[j] <= x) j++;
    prev = x;
  }
  return total;
}

/**
 * W₁ divided by the reference standard deviation (floored at MIN_NORMALISING_STD), so the score is
 * in "reference stds" and a shift of the whole distribution by k stds scores k.
 * `referenceStd` defaults to the sample std (n − 1) of `reference`.
 */
export function wassersteinNormalized(reference: readonly number[], current: readonly number[], referenceStd?: number | null): number {
  const std = referenceStd != null && Number.isFinite(referenceStd) ? referenceStd : sampleStd(reference);
  return wasserstein1(reference, current) / Math.max(std, MIN_NORMALISING_STD);
}

/** Sample standard deviation (n − 1) of the finite values; 0 for fewer than two. */
export function sampleStd(values: readonly number[]): number {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    n++;
    const d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
  }
  return n > 1 ? Math.sqrt(m2 / (n - 1)) : 0;
}

function toProportions(counts: readonly number[], what: string): number[] {
  let total = 0;
  for (const c of counts) {
    if (!(c >= 0)) throw new RangeError(`${what}: counts must be non-negative numbers`);
    total += c;
  }
  if (total === 0) throw new RangeError(`${what}: counts must not all be zero`);
  return counts.map((c) => c / total);
}

/**
 * Jensen–Shannon distance (base 2, so in [0, 1]): the square root of
 * JSD(P‖Q) = ½ KL(P‖M) + ½ KL(Q‖M), M = ½(P + Q). Inputs are counts (or weights) aligned by
 * category; they are normalised here. Empty categories contribute 0 (0 · log 0 = 0), so no epsilon
 * is needed.
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new RangeError('jensenShannonDistance: vectors must have the same length');
  const pp = toProportions(p, 'jensenShannonDistance');
  const qq = toProportions(q, 'jensenShannonDistance');
  let jsd = 0;
  for (let i = 0; i < pp.length; i++) {
    const m = (pp[i] + qq[i]) / 2;
    if (pp[i] > 0) jsd += 0.5 * pp[i] * Math.log2(pp[i] / m);
    if (qq[i] > 0) jsd += 0.5 * qq[i] * Math.log2(qq[i] / m);
  }
  // Rounding can leave a tiny negative value for identical inputs.
  return Math.sqrt(Math.min(1, Math.max(0, jsd)));
}

/**
 * Population Stability Index over aligned bins: Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ), with eᵢ the reference
 * (expected) proportion and aᵢ the current (actual) one. A proportion of 0 is replaced by
 * `epsilon` so an empty bin gives a large but finite contribution.
 * Usual reading: < 0.1 stable, 0.1–0.25 drift, ≥ 0.25 major drift.
 */
export function populationStabilityIndex(
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
  epsilon = PSI_EPSILON,
): number {
  if (referenceCounts.length !== currentCounts.length) {
    throw new RangeError('populationStabilityIndex: vectors must have the same length');
  }
  const e = toProportions(referenceCounts, 'populationStabilityIndex');
  const a = toProportions(currentCounts, 'populationStabilityIndex');
  let psi = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i], epsilon);
    const ai = Math.max(a[i], epsilon);
    psi += (ai - ei) * Math.log(ai / ei);
  }
  return psi;
}
