import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import { canonicalJson } from './canonical-json';

/**
 * Every hash already stored in a log was computed with the `json-canonicalize` package: the
 * hand-written serialiser must give the same text for every value the log can hold.
 */
describe('canonicalJson against the json-canonicalize package it replaced', () => {
  it('gives the same text for generated JSON values (property, seeded)', () => {
    const hostile = fc.constantFrom('\0', '\uD800', '\uDC00', '\uE000', '😀', 'é', '"', '\\', '\u2028', '\u007f', 'toJSON', '__proto__');
    const key = fc.oneof(fc.string(), hostile, fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }));
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.string(),
        hostile,
      ),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 5 }),
        fc.dictionary(key, tie('node'), { maxKeys: 6 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        assert.equal(canonicalJson(v), canonicalize(v));
      }),
      { seed: 8785, numRuns: 3000 },
    );
  });

  it('agrees on Dates, undefined members, undefined array elements and a "toJSON" member', () => {
    const values: unknown[] = [
      { t: new Date(0), u: undefined, a: [undefined, 1] },
      { toJSON: 1, b: 2, a: 1 },
      [-0, 1e21, 1e-7, 0.1 + 0.2, 5e-324, -1.7976931348623157e308],
      { '€': 1, a: 2, '1': 3, '\r': 4, '': 5, '\uD83D\uDE00': 6, '\uFFFF': 7 },
    ];
    for (const v of values) assert.equal(canonicalJson(v), canonicalize(v), JSON.stringify(v));
  });

  it('writes lists of finite numbers (the fast path) as the package does, and lists with anything else too', () => {
    const numbers = [-0, 0, 1e21, 1e-7, 0.1 + 0.2, 5e-324, -1.7976931348623157e308, Math.fround(0.3), 123456789012345680000];
    const values: unknown[] = [
      numbers,
      { data: Array.from({ length: 10_000 }, (_, i) => Math.fround(Math.sin(i) * 4)), shape: [1, 10_000] },
      [[1, 2], [3]],
      [1, 'two', 3],
      [1, null, 3],
      [1, { a: 1 }],
      [],
      [1, undefined, 2],
    ];
    for (const v of values) assert.equal(canonicalJson(v), canonicalize(v), JSON.stringify(v).slice(0, 80));
    // eslint-disable-next-line no-sparse-arrays
    assert.equal(canonicalJson([1, , 2]), '[1,null,2]');
  });

  it('refuses what has no JSON form', () => {
    for (const v of [NaN, Infinity, { x: -Infinity }, [1n], [1, 2, NaN], [Infinity]]) assert.throws(() => canonicalJson(v));
    assert.throws(() => canonicalJson(undefined), TypeError);
  });
});
