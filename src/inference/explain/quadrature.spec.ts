import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pathQuadrature } from './quadrature';

/* The path rule: endpoints at weight 0 first and last, weights summing to 1, exact across a breakpoint. */

function integrate(f: (a: number) => number, steps: number, breakpoints?: number[]): number {
  const { alphas, weights } = pathQuadrature(steps, breakpoints);
  return alphas.reduce((s, a, i) => s + weights[i] * f(a), 0);
}

describe('pathQuadrature', () => {
  it('starts at the baseline (α = 0) and ends at the input (α = 1), both at weight 0; weights sum to 1', () => {
    const { alphas, weights } = pathQuadrature(8, [0.31, 0.77]);
    assert.equal(alphas[0], 0);
    assert.equal(alphas[alphas.length - 1], 1);
    assert.equal(weights[0], 0);
    assert.equal(weights[weights.length - 1], 0);
    assert.equal(alphas.length, 2 * (8 + 2) + 2);
    assert.ok(Math.abs(weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.ok(
      alphas.every((a, i) => i === 0 || a > alphas[i - 1]),
      'ascending',
    );
  });

  it('is exact for a piecewise cubic whose jump sits on a breakpoint, and not without the breakpoint', () => {
    const jump = 0.3141;
    const f = (a: number) => (a < jump ? a * a * a : 2 + a);
    const exact = jump ** 4 / 4 + 2 * (1 - jump) + (1 - jump * jump) / 2;
    assert.ok(Math.abs(integrate(f, 4, [jump]) - exact) < 1e-12);
    assert.ok(Math.abs(integrate(f, 4) - exact) > 1e-3);
  });

  it('ignores breakpoints outside (0, 1) and collapses duplicates', () => {
    assert.deepEqual(pathQuadrature(2, [0, 1, -0.5, 0.5, 1.5]), pathQuadrature(2));
    assert.equal(pathQuadrature(2, [0.25, 0.25]).alphas.length, pathQuadrature(2, [0.25]).alphas.length);
  });
});
