import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Preprocessor, RecordValidationError, type FeatureIssue } from './preprocessing';
import type { ColumnSchema, DataRecord } from './types';

// Names a generated reader must read as data, never as code.
const ODD = 'a"b\\c]; throw new Error("injected"); //\u2028';
const columns: ColumnSchema[] = [
  { name: 'x', type: 'number' },
  { name: 'n', type: 'integer' },
  { name: 'flag', type: 'boolean' },
  { name: 'on', type: 'boolean' },
  { name: 'color', type: 'categorical' },
  { name: 'when', type: 'timestamp' },
  { name: ODD, type: 'number' },
];
const features = columns.map((c) => c.name);
const training: DataRecord[] = [
  { x: 1, n: 3, flag: true, on: true, color: 'red', when: '2020-01-01T00:00:00Z', [ODD]: 0.5 },
  { x: null, n: 4, flag: null, on: false, color: 'blue', when: 1577923200000, [ODD]: 1.5 },
  { x: 6, n: 9, flag: false, on: true, color: null, when: null, [ODD]: 2.5 },
];
const pre = Preprocessor.fit(columns, training, features);

const valid = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  x: 2.5,
  n: 7,
  flag: false,
  on: true,
  color: 'blue',
  when: '2020-01-03T12:00:00Z',
  [ODD]: -3,
  ...over,
});

/** The general path's answer (validation, then the per-feature loop), which the compiled pass must match. */
function general(
  records: unknown[],
  dtype: 'float32' | 'float64',
): { out?: Float32Array | Float64Array | Int32Array; issues: FeatureIssue[] } {
  const issues = pre.validate(records);
  return issues.length ? { issues } : { out: pre.transform(records, { validate: false, dtype }), issues };
}

function issuesOf(fn: () => unknown): FeatureIssue[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RecordValidationError, `expected a RecordValidationError, got ${String(e)}`);
    return e.issues;
  }
  assert.fail('expected the records to be refused');
}

describe('compiled record preprocessing (the serving fast path of Preprocessor.transform)', () => {
  it('writes the same numbers as the general path, bit for bit, in float32 and float64', () => {
    const records = [
      valid(),
      valid({ x: null, flag: null, color: 'purple', when: null, [ODD]: null }),
      valid({ x: 1e308, n: -(2 ** 53), color: null, when: 0, on: false }),
      valid({ x: -0, n: 0, flag: true, when: 1577923200000.5, [ODD]: 5e-324 }),
    ];
    for (const dtype of ['float32', 'float64'] as const) {
      const fast = pre.transform(records, { dtype });
      const { out } = general(records, dtype);
      assert.ok(out, 'the records are valid');
      assert.equal(fast.constructor, out.constructor);
      assert.deepEqual(Buffer.from(fast.buffer), Buffer.from(out.buffer), dtype);
    }
    // the odd name is read as a key: its column holds (-3 - mean) / std
    const f = pre.spec.features.find((s) => s.name === ODD)!;
    assert.ok(f.kind === 'numeric');
    const col = pre.spec.outputNames.indexOf(ODD);
    assert.equal(pre.transform([valid()])[col], Math.fround((-3 - f.mean) / f.std));
  });

  it('refuses what the general path refuses, with its reasons and order: missing, extra, wrong type, non-finite, not an object', () => {
    const bad: Array<[string, unknown]> = [
      ['missing feature', (({ n: _n, ...rest }) => rest)(valid())],
      ['extra field', valid({ extra: 1 })],
      ['missing one, extra another (same key count)', (({ n: _n, ...rest }) => ({ ...rest, m: 1 }))(valid())],
      ['string for a number', valid({ x: '2.5' })],
      ['number for a category', valid({ color: 3 })],
      ['1 for a boolean', valid({ flag: 1 })],
      ['object for a number', valid({ x: { value: 1 } })],
      ['array for a category', valid({ color: ['red'] })],
      ['NaN', valid({ x: Number.NaN })],
      ['Infinity', valid({ n: Number.POSITIVE_INFINITY })],
      ['-Infinity', valid({ [ODD]: Number.NEGATIVE_INFINITY })],
      ['bad timestamp string', valid({ when: 'yesterday' })],
      ['empty timestamp string', valid({ when: '' })],
      ['Infinity timestamp', valid({ when: Number.POSITIVE_INFINITY })],
      ['boolean timestamp', valid({ when: true })],
      ['null record', null],
      ['array record', [1, 2]],
      ['number record', 5],
    ];
    for (const [what, record] of bad) {
      const records = [valid(), record];
      const expected = general(records, 'float32').issues;
      assert.ok(expected.length > 0, `${what}: the general path refuses it`);
      assert.deepEqual(
        issuesOf(() => pre.transform(records)),
        expected,
        what,
      );
    }
  });

  it("reports several problems in the general path's order", () => {
    const records = [valid({ extra: 1, x: 'a' }), valid(), valid({ color: 7, when: 'never' })];
    const expected = general(records, 'float32').issues;
    assert.equal(expected.length, 4);
    assert.deepEqual(
      issuesOf(() => pre.transform(records)),
      expected,
    );
  });

  it('does not read a feature from the prototype: a feature named like an Object.prototype member must be sent', () => {
    const p = Preprocessor.fit([{ name: 'toString', type: 'number' }], [{ toString: 1 }, { toString: 3 }], ['toString']);
    assert.deepEqual(
      issuesOf(() => p.transform([{ other: 1 }])),
      [
        { index: 0, feature: 'toString', reason: 'missing feature (send null for a missing value)' },
        { index: 0, feature: 'other', reason: 'unexpected feature: the model does not take it' },
      ],
    );
    assert.deepEqual([...p.transform([{ toString: 2 }])], [0]);
  });

  it('leaves integer inputs and lenient options to the general path', () => {
    const records = [valid({ n: 7.5 })];
    // int32 refuses a fraction after standardisation; the float path takes it
    assert.ok(issuesOf(() => pre.transform(records, { dtype: 'int32' })).length > 0);
    assert.equal(pre.transform(records).length, pre.width);
    // allowExtra / allowAbsent (training tables) keep their meaning
    assert.equal(pre.transform([valid({ target: 1 })], { allowExtra: true }).length, pre.width);
  });
});
