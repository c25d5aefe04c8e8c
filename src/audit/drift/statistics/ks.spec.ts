import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kolmogorovSurvival, ksPValue, ksStatistic, ksTwoSample } from './ks';

const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + (i * (b - a)) / (n - 1));

function close(actual: number, expected: number, tol: number, what = '') {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

describe('two-sample Kolmogorov–Smirnov', () => {
  // Published reference values: SciPy's own test suite, scipy/stats/tests/test_stats.py
  // `test_ks_2samp`, in the SciPy releases (≤ 1.2) whose ks_2samp p-value was the asymptotic
  // Kolmogorov distribution with Stephens' correction, kstwobign.sf((en + 0.12 + 0.11/en) * d),
  // the same formula used here. SciPy compared them with assert_almost_equal (7 decimals).
  const scipyCases: Array<{ name: string; a: number[]; b: number[]; d: number; p: number }> = [
    { name: '[1,2]+0.01 vs [1,2,3]', a: [1.01, 2.01], b: [1, 2, 3], d: 0.33333333333333337, p: 0.99062316386915694 },
    { name: '[1,2]-0.01 vs [1,2,3]', a: [0.99, 1.99], b: [1, 2, 3], d: 0.66666666666666674, p: 0.42490954988801982 },
    {
      name: 'linspace(1,100,100) vs +2.1',
      a: linspace(1, 100, 100),
      b: linspace(1, 100, 100).map((x) => x + 2 + 0.1),
      d: 0.030000000000000027,
      p: 0.99999999996005062,
    },
    {
      name: 'linspace(1,100,100) vs +1.9',
      a: linspace(1, 100, 100),
      b: linspace(1, 100, 100).map((x) => x + 2 - 0.1),
      d: 0.020000000000000018,
      p: 0.99999999999999933,
    },
    {
      name: 'linspace(1,100,100) vs linspace(1,100,110)+20.1',
      a: linspace(1, 100, 100),
      b: linspace(1, 100, 110).map((x) => x + 20.1),
      d: 0.21090909090909091,
      p: 0.015880386730710221,
    },
    {
      name: 'linspace(1,100,100) vs linspace(1,100,110)+19.9',
      a: linspace(1, 100, 100),
      b: linspace(1, 100, 110).map((x) => x + 20 - 0.1),
      d: 0.20818181818181825,
      p: 0.017981441789762638,
    },
  ];
  for (const c of scipyCases) {
    it(`matches SciPy's published D and p for ${c.name}`, () => {
      const r = ksTwoSample(c.a, c.b);
      close(r.statistic, c.d, 1e-12, 'D');
      close(r.pValue, c.p, 1e-9, 'p');
      // symmetric in its arguments
      const s = ksTwoSample(c.b, c.a);
      close(s.statistic, c.d, 1e-12, 'D swapped');
      close(s.pValue, c.p, 1e-9, 'p swapped');
    });
  }

  it('Kolmogorov distribution matches the classic critical values', () => {
    // Smirnov (1948) / standard tables: P(K > c) = α for c(0.10) = 1.2238, c(0.05) = 1.3581,
    // c(0.01) = 1.6276; also Q(1) = 1 − 0.7300 (Kolmogorov's table, K(1) = 0.7300).
    close(kolmogorovSurvival(1.2238), 0.1, 2e-4, 'c(0.10)');
    close(kolmogorovSurvival(1.3581), 0.05, 1e-4, 'c(0.05)');
    close(kolmogorovSurvival(1.6276), 0.01, 1e-5, 'c(0.01)');
    close(kolmogorovSurvival(1), 0.27, 1e-4, 'Q(1)');
    assert.equal(kolmogorovSurvival(0), 1);
    assert.equal(kolmogorovSurvival(0.05), 1);
    assert.ok(kolmogorovSurvival(10) < 1e-80);
  });

  it('is continuous and monotone where it switches series (λ = 1.18)', () => {
    close(kolmogorovSurvival(1.18 - 1e-12), kolmogorovSurvival(1.18), 1e-12);
    let prev = 1;
    for (let l = 0.2; l < 3; l += 0.01) {
      const q = kolmogorovSurvival(l);
      assert.ok(q <= prev + 1e-15, `not monotone at ${l}`);
      prev = q;
    }
  });

  it('handles ties and identical samples', () => {
    assert.equal(ksStatistic([1, 1, 2, 2], [1, 1, 2, 2]), 0);
    assert.equal(ksTwoSample([1, 2, 3], [1, 2, 3]).pValue, 1);
    // F_a jumps to 1/2 at x=1 where F_b reaches 1/4; at x=2 both reach 1/2 / 3/4.
    assert.equal(ksStatistic([1, 2], [1, 2, 3, 4]), 0.5);
    assert.equal(ksStatistic([5, 5, 5], [6]), 1);
  });

  it('ignores non-finite values and rejects empty samples', () => {
    assert.equal(ksTwoSample([1, NaN, 2], [1, 2, Infinity]).n1, 2);
    assert.throws(() => ksTwoSample([], [1]), RangeError);
    assert.throws(() => ksTwoSample([NaN], [1]), RangeError);
  });

  it('ksPValue applies the Stephens correction', () => {
    const en = Math.sqrt((50 * 80) / 130);
    close(ksPValue(0.2, 50, 80), kolmogorovSurvival((en + 0.12 + 0.11 / en) * 0.2), 1e-15);
  });
});
