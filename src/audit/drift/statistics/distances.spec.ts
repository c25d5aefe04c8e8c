import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jensenShannonDistance, populationStabilityIndex, sampleStd, wasserstein1, wassersteinNormalized } from './distances';

function close(actual: number, expected: number, tol: number, what = '') {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

describe('Wasserstein-1', () => {
  it('hand-computable cases', () => {
    // Shift of a whole sample by c moves every unit of mass by c.
    close(wasserstein1([1, 2, 3], [2, 3, 4]), 1, 1e-12);
    close(wasserstein1([0], [5]), 5, 1e-12);
    // scipy.stats.wasserstein_distance docs: ([0, 1, 3], [5, 6, 8]) → 5.0
    close(wasserstein1([0, 1, 3], [5, 6, 8]), 5, 1e-12);
    // ∫|F_a − F_b|: a = {0, 1}, b = {0.5}: |1/2 − 0| on [0, .5) + |1/2 − 1| on [.5, 1) = 0.5
    close(wasserstein1([0, 1], [0.5]), 0.5, 1e-12);
    // Unequal sizes with ties: a = {0,0,1,1}, b = {0}: F_a = 1/2 on [0,1) vs F_b = 1 → 0.5
    close(wasserstein1([0, 0, 1, 1], [0]), 0.5, 1e-12);
    assert.equal(wasserstein1([3, 1, 2], [2, 3, 1]), 0);
  });

  it('is symmetric and ignores non-finite values', () => {
    const a = [0.3, 5, -2, 7, 1.5];
    const b = [1, 2, 9, -1];
    close(wasserstein1(a, b), wasserstein1(b, a), 1e-12);
    close(wasserstein1([...a, NaN], [...b, Infinity]), wasserstein1(a, b), 1e-12);
    assert.throws(() => wasserstein1([], [1]), RangeError);
  });

  it('normalised by the reference std: a 1-std shift scores 1', () => {
    const ref = [2, 4, 4, 4, 5, 5, 7, 9];
    const std = sampleStd(ref); // sqrt(32 / 7)
    close(std, Math.sqrt(32 / 7), 1e-12);
    close(
      wassersteinNormalized(
        ref,
        ref.map((x) => x + std),
      ),
      1,
      1e-12,
    );
    close(
      wassersteinNormalized(
        ref,
        ref.map((x) => x + 2),
        4,
      ),
      0.5,
      1e-12,
    );
    // constant reference: floored std keeps the score finite
    assert.ok(Number.isFinite(wassersteinNormalized([1, 1, 1], [2, 2, 2])));
  });
});

describe('Jensen–Shannon distance (base 2)', () => {
  it('hand-computable cases', () => {
    assert.equal(jensenShannonDistance([1, 2, 3], [2, 4, 6]), 0);
    // disjoint supports: JSD = 1 bit → distance 1
    close(jensenShannonDistance([1, 0], [0, 1]), 1, 1e-12);
    // scipy.spatial.distance.jensenshannon docs: ([1,0,0], [0,1,0], base=2) → 1.0;
    // ([1,0], [0.5,0.5]) → 0.46450140402245893 with the natural log, i.e. divided by √ln2 in base 2.
    close(jensenShannonDistance([1, 0, 0], [0, 1, 0]), 1, 1e-12);
    close(jensenShannonDistance([1, 0], [0.5, 0.5]), 0.46450140402245893 / Math.sqrt(Math.LN2), 1e-12);
    // P = (1/2, 1/2, 0), Q = (0, 1/2, 1/2): M = (1/4, 1/2, 1/4); KL(P‖M) = ½·log2 2 = ½,
    // same for Q → JSD = ½ → distance √½
    close(jensenShannonDistance([1, 1, 0], [0, 1, 1]), Math.SQRT1_2, 1e-12);
  });

  it('is symmetric and validates input', () => {
    close(jensenShannonDistance([5, 1, 3], [1, 1, 8]), jensenShannonDistance([1, 1, 8], [5, 1, 3]), 1e-15);
    assert.throws(() => jensenShannonDistance([0, 0], [1, 1]), RangeError);
    assert.throws(() => jensenShannonDistance([1], [1, 1]), RangeError);
    assert.throws(() => jensenShannonDistance([-1, 2], [1, 1]), RangeError);
  });
});

describe('Population Stability Index', () => {
  it('hand-computable cases', () => {
    assert.equal(populationStabilityIndex([10, 20, 30], [1, 2, 3]), 0);
    // (0.6 − 0.5)·ln(0.6/0.5) + (0.4 − 0.5)·ln(0.4/0.5) = 0.1·ln 1.2 + 0.1·ln 1.25
    close(populationStabilityIndex([50, 50], [60, 40]), 0.1 * Math.log(1.2) + 0.1 * Math.log(1.25), 1e-12);
    // 25/25/25/25 → 10/20/30/40
    const expected = [0.1, 0.2, 0.3, 0.4].reduce((s, a) => s + (a - 0.25) * Math.log(a / 0.25), 0);
    close(populationStabilityIndex([1, 1, 1, 1], [10, 20, 30, 40]), expected, 1e-12);
  });

  it('uses epsilon for empty bins', () => {
    // reference bin empty: e = 1e-4 instead of 0
    const eps = 1e-4;
    const expected = (0.5 - 1) * Math.log(0.5 / 1) + (0.5 - eps) * Math.log(0.5 / eps);
    close(populationStabilityIndex([10, 0], [5, 5]), expected, 1e-12);
    const withEps = (0.5 - 1) * Math.log(0.5) + (0.5 - 0.01) * Math.log(0.5 / 0.01);
    close(populationStabilityIndex([10, 0], [5, 5], 0.01), withEps, 1e-12);
    assert.ok(Number.isFinite(populationStabilityIndex([0, 10], [10, 0])));
  });
});
