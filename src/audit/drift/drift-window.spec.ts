import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildWindow, type LoggedPrediction } from './drift-window';

const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s));

describe('buildWindow', () => {
  it('flattens record calls newest first into feature columns and predictions, aligned by index', () => {
    const logged: LoggedPrediction[] = [
      {
        servedAt: at(3),
        inputs: [
          { a: 1, b: 'x' },
          { a: 2, b: 'y' },
        ],
        outputs: [{ label: 'p' }, { label: 'q', probabilities: { p: 0.1, q: 0.9 } }],
      },
      { servedAt: at(2), inputs: [{ a: 3 }], outputs: [{ value: 4.5 }] },
    ];
    const w = buildWindow(logged, ['a', 'b'], 100);
    assert.deepEqual(w.columns, { a: [1, 2, 3], b: ['x', 'y', null] });
    assert.deepEqual(w.predictions, ['p', 'q', 4.5]);
    assert.equal(w.rows, 3);
    assert.equal(w.requests, 2);
    assert.deepEqual([w.from, w.to], [at(2), at(3)]);
  });

  it('stops at maxRows, taking the first records of the call that straddles the limit', () => {
    const logged: LoggedPrediction[] = [
      { servedAt: at(9), inputs: [{ a: 1 }, { a: 2 }], outputs: [] },
      { servedAt: at(8), inputs: [{ a: 3 }, { a: 4 }, { a: 5 }], outputs: [] },
      { servedAt: at(7), inputs: [{ a: 6 }], outputs: [] },
    ];
    const w = buildWindow(logged, ['a'], 3);
    assert.deepEqual(w.columns.a, [1, 2, 3]);
    assert.deepEqual(w.predictions, [null, null, null]);
    assert.equal(w.requests, 2);
    assert.deepEqual([w.from, w.to], [at(8), at(9)]);
  });

  it('counts hashed calls (inputs null) apart and ignores malformed payloads and non-scalar values', () => {
    const logged: LoggedPrediction[] = [
      { servedAt: at(5), inputs: null, outputs: [{ label: 'z' }] },
      { servedAt: at(4), inputs: { not: 'an array' }, outputs: null },
      { servedAt: at(3), inputs: [7, { a: { nested: 1 } }, { a: Infinity }, { a: true }], outputs: 'garbage' },
    ];
    const w = buildWindow(logged, ['a'], 10);
    assert.equal(w.hashedRequests, 1);
    assert.deepEqual(w.columns.a, [null, null, true]);
    assert.equal(w.rows, 3);
    assert.equal(w.requests, 1);
    assert.deepEqual([w.from, w.to], [at(3), at(3)]);
  });

  it('is empty when nothing usable was logged', () => {
    const w = buildWindow([], ['a'], 10);
    assert.deepEqual([w.rows, w.requests, w.from, w.to], [0, 0, null, null]);
  });
});
