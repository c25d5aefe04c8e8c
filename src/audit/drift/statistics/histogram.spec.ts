import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { binOnEdges, histogramComparison, OTHER_CATEGORY, toCategory, toNumber } from './histogram';
import type { CategoricalColumnProfile, NumericColumnProfile } from '../../../contracts/dataset-profile';

describe('histograms on reference edges', () => {
  it('bins half-open intervals with the last bin closed, and counts out-of-range values', () => {
    const r = binOnEdges([0, 1, 2, 4], [-1, 0, 0.5, 1, 1.999, 2, 3, 4, 4.01, NaN]);
    assert.deepEqual(r, { counts: [2, 2, 3], below: 1, above: 1 });
    assert.deepEqual(binOnEdges([], [1, 2]), { counts: [], below: 0, above: 0 });
    // degenerate single bin [5, 5]
    assert.deepEqual(binOnEdges([5, 5], [5, 5, 6]), { counts: [2], below: 0, above: 1 });
  });

  it('numeric comparison keeps reference counts beside current counts', () => {
    const column: NumericColumnProfile = {
      kind: 'numeric',
      count: 6,
      missing: 0,
      distinct: 6,
      min: 0,
      max: 3,
      mean: 1.5,
      std: 1,
      quantiles: {},
      histogram: { edges: [0, 1, 2, 3], counts: [2, 2, 2] },
      sample: [0, 0.5, 1, 1.5, 2, 3],
    };
    assert.deepEqual(histogramComparison(column, [0.2, '1.5', null, 'x', 2.5, 3, 7, -2]), {
      kind: 'numeric',
      edges: [0, 1, 2, 3],
      reference: [2, 2, 2],
      current: [1, 1, 2],
      currentBelow: 1,
      currentAbove: 1,
    });
  });

  it('categorical comparison folds unseen categories into the other bucket', () => {
    const column: CategoricalColumnProfile = {
      kind: 'categorical',
      count: 10,
      missing: 0,
      distinct: 3,
      top: [],
      frequencies: { a: 5, b: 3, true: 1 },
      otherCount: 1,
      sample: [],
    };
    assert.deepEqual(histogramComparison(column, ['a', 'a', 'z', true, null, 'b']), {
      kind: 'categorical',
      categories: ['a', 'b', 'true', OTHER_CATEGORY],
      reference: [5, 3, 1, 1],
      current: [2, 1, 1, 1],
    });
    const closed = { ...column, otherCount: 0 };
    const h = histogramComparison(closed, ['a']);
    assert.ok(h.kind === 'categorical');
    assert.deepEqual(h.categories, ['a', 'b', 'true']);
  });

  it('coerces raw values', () => {
    assert.equal(toNumber('2.5'), 2.5);
    assert.equal(toNumber(''), null);
    assert.equal(toNumber('NA'), null);
    assert.equal(toNumber(NaN), null);
    assert.equal(toNumber(true), 1);
    assert.equal(toCategory(false), 'false');
    assert.equal(toCategory(3), '3');
    assert.equal(toCategory(null), null);
  });
});
