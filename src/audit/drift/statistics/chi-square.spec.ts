import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chiSquareHomogeneity, chiSquareSurvival } from './chi-square';

function close(actual: number, expected: number, tol: number, what = '') {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

describe('chi-square', () => {
  it('survival function reproduces the textbook critical values', () => {
    // Upper 5% / 1% points of χ² (any statistics table, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.4):
    // df=1: 3.841 (5%), 6.635 (1%); df=2: 5.991; df=3: 7.815; df=10: 18.307.
    // Full-precision quantiles (as printed by scipy.stats.chi2.ppf) are used so the check is tight.
    const cases: Array<[number, number, number]> = [
      [3.841458820694124, 1, 0.05],
      [6.634896601021214, 1, 0.01],
      [5.991464547107979, 2, 0.05],
      [7.814727903251178, 3, 0.05],
      [18.307038053275146, 10, 0.05],
    ];
    for (const [x, df, p] of cases) close(chiSquareSurvival(x, df), p, 1e-9, `χ²(${df}) at ${x}`);
    // The 3-decimal table values themselves.
    close(chiSquareSurvival(3.841, 1), 0.05, 1e-4);
    close(chiSquareSurvival(18.307, 10), 0.05, 1e-4);
  });

  it('matches closed forms for even degrees of freedom', () => {
    for (const x of [0.1, 1, 2.5, 7, 20, 60]) {
      close(chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-13, `df=2 x=${x}`);
      close(chiSquareSurvival(x, 4), (1 + x / 2) * Math.exp(-x / 2), 1e-13, `df=4 x=${x}`);
    }
    assert.equal(chiSquareSurvival(0, 3), 1);
    assert.ok(Number.isNaN(chiSquareSurvival(1, 0)));
  });

  it("matches SciPy's chi2_contingency documentation example", () => {
    // scipy.stats.chi2_contingency docs: obs = [[10, 10, 20], [20, 20, 20]] →
    // statistic 2.7777777777777777, pvalue 0.24935220877729619, dof 2.
    const r = chiSquareHomogeneity([10, 10, 20], [20, 20, 20]);
    close(r.statistic, 2.7777777777777777, 1e-12);
    close(r.pValue, 0.24935220877729619, 1e-12);
    assert.equal(r.dof, 2);
  });

  it('hand-computed 2×2 table (no Yates correction)', () => {
    // [[30, 10], [20, 40]]: N=100, row 40/60, col 50/50 → E = [[20,20],[30,30]]
    // χ² = 100/20 + 100/20 + 100/30 + 100/30 = 16.6667, df = 1.
    const r = chiSquareHomogeneity([30, 10], [20, 40]);
    close(r.statistic, 50 / 3, 1e-12);
    assert.equal(r.dof, 1);
    assert.ok(r.pValue < 1e-4);
  });

  it('drops empty categories, and identical proportions give χ² = 0', () => {
    const r = chiSquareHomogeneity([10, 0, 20, 30], [20, 0, 40, 60]);
    close(r.statistic, 0, 1e-12);
    assert.equal(r.dof, 2);
    close(r.pValue, 1, 1e-12);
    assert.deepEqual(chiSquareHomogeneity([5, 0], [7, 0]), { statistic: 0, pValue: 1, dof: 0 });
    assert.throws(() => chiSquareHomogeneity([1, 2], [0, 0]), RangeError);
    assert.throws(() => chiSquareHomogeneity([1, 2], [1]), RangeError);
  });
});
