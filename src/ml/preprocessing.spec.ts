import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Preprocessor, RecordValidationError } from './preprocessing';
import { splitIndices } from './split';
import { resolveTarget } from './target';
import { resolveHyperparameters } from './templates';
import { ColumnSchema, DataRecord, TrainingSpecError } from './types';
import { carsMpg, penguinsSpecies } from '../../test/support/public-datasets';

const columns: ColumnSchema[] = [
  { name: 'x', type: 'number' },
  { name: 'flag', type: 'boolean' },
  { name: 'color', type: 'categorical' },
  { name: 'when', type: 'timestamp' },
];
const rows: DataRecord[] = [
  { x: 1, flag: true, color: 'red', when: '2020-01-01T00:00:00Z' },
  { x: 2, flag: false, color: 'red', when: '2020-01-02T00:00:00Z' },
  { x: null, flag: null, color: 'blue', when: null },
  { x: 6, flag: true, color: null, when: '2020-01-04T00:00:00Z' },
  { x: 11, flag: true, color: 'green', when: '2020-01-05T00:00:00Z' },
];

describe('Preprocessor', () => {
  it('standardises numbers with median imputation + missing indicator, one-hots top-K + OOV, booleans 0/1', () => {
    const p = Preprocessor.fit(columns, rows, ['x', 'flag', 'color', 'when'], { maxCategories: 2 });
    const s = p.spec;
    assert.deepEqual(s.outputNames, [
      'x',
      'x__missing',
      'flag',
      'flag__missing',
      'color=red',
      'color=blue',
      'color=__oov__',
      'when',
      'when__missing',
    ]);
    const fx = s.features[0];
    assert.equal(fx.kind, 'numeric');
    if (fx.kind !== 'numeric') return;
    // observed 1, 2, 6, 11 → mean 5, population sd sqrt((16+9+1+36)/4), median (2+6)/2
    assert.equal(fx.mean, 5);
    assert.equal(fx.std, Math.sqrt(62 / 4));
    assert.equal(fx.median, 4);
    const out = p.transform([
      { x: null, flag: null, color: 'purple', when: null },
      { x: 5, flag: false, color: 'blue', when: '2020-01-02T00:00:00Z' },
    ]);
    const w = p.width;
    const row0 = Array.from(out.subarray(0, w));
    assert.equal(row0[0], Math.fround((4 - 5) / Math.sqrt(15.5)));
    assert.deepEqual(row0.slice(1, 7), [1, 1, 1, 0, 0, 1]); // missing x; flag → mode (true) + missing; OOV colour
    assert.equal(row0[8], 1);
    const row1 = Array.from(out.subarray(w, 2 * w));
    assert.deepEqual(row1.slice(0, 7), [0, 0, 0, 0, 0, 1, 0]);
  });

  it('parity: identical inputs give identical outputs after serialise / deserialise', () => {
    const d = carsMpg();
    const feats = d.table.columns.map((c) => c.name).filter((n) => n !== d.target);
    const p1 = Preprocessor.fit(d.table.columns, d.table.rows.slice(0, 300), feats);
    const json = JSON.stringify(p1.toJSON());
    const p2 = Preprocessor.fromJSON(JSON.parse(json));
    const records = d.table.rows.map((r) => Object.fromEntries(feats.map((f) => [f, r[f]])));
    const a = p1.transform(records);
    const b = p2.transform(records);
    assert.equal(a.length, records.length * p1.width);
    assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)));
    assert.equal(JSON.stringify(p2.toJSON()), json);
  });

  it('validation names record index, feature and reason; transform refuses invalid records', () => {
    const p = Preprocessor.fit(columns, rows, ['x', 'flag', 'color', 'when']);
    const issues = p.validate([
      { x: 1, flag: true, color: 'red', when: null },
      { flag: true, color: 'red', when: null },
      { x: '3', flag: 'yes', color: 4, when: 'not a date', extra: 1 },
      'not an object',
    ]);
    assert.deepEqual(
      issues.map((i) => [i.index, i.feature]),
      [
        [1, 'x'],
        [2, 'x'],
        [2, 'flag'],
        [2, 'color'],
        [2, 'when'],
        [2, 'extra'],
        [3, null],
      ],
    );
    assert.match(issues[0].reason, /missing feature/);
    assert.match(issues[1].reason, /expected a finite number.*got string/);
    assert.match(issues[5].reason, /unexpected feature/);
    assert.throws(
      () => p.transform([{ x: Number.NaN, flag: true, color: 'red', when: null }]),
      (e: unknown) => e instanceof RecordValidationError && e.issues[0].feature === 'x' && /NaN/.test(e.message),
    );
  });
});

describe('Preprocessor: the input element type (imported ONNX graphs)', () => {
  // an import's preprocessing: values go in unchanged (mean 0, std 1, a null becomes 0)
  const identity = Preprocessor.fromJSON({
    formatVersion: 1,
    features: [
      { name: 'id', type: 'integer', kind: 'numeric', mean: 0, std: 1, median: 0, missingIndicator: false },
      { name: 'on', type: 'boolean', kind: 'boolean', fill: 0, missingIndicator: false },
    ],
    outputNames: ['id', 'on'],
    width: 2,
  });

  it('int64 and float64 keep every integer within ±(2^53 − 1) and every double; float32 stays the default', () => {
    const records = [
      { id: Number.MAX_SAFE_INTEGER, on: true },
      { id: null, on: false },
    ];
    const x64 = identity.transform(records, { dtype: 'int64' });
    assert.ok(x64 instanceof Float64Array);
    assert.deepEqual([...x64], [Number.MAX_SAFE_INTEGER, 1, 0, 0]);
    assert.deepEqual([...identity.transform([{ id: 0.1, on: null }], { dtype: 'float64' })], [0.1, 0]);
    assert.ok(identity.transform(records) instanceof Float32Array);
    assert.ok(identity.transform([{ id: -7, on: true }], { dtype: 'int32' }) instanceof Int32Array);
  });

  it('an integer input refuses fractions and values it cannot hold exactly, naming record and feature', () => {
    const refusal = (records: unknown[], dtype: 'int32' | 'int64') => {
      try {
        identity.transform(records, { dtype });
      } catch (e) {
        assert.ok(e instanceof RecordValidationError);
        return e.issues.map((i) => `${i.index}.${i.feature}: ${i.reason}`);
      }
      assert.fail('expected a RecordValidationError');
    };
    assert.deepEqual(
      refusal(
        [
          { id: 1, on: true },
          { id: 2 ** 53, on: true },
        ],
        'int64',
      ),
      [
        `1.id: ${2 ** 53} is beyond ±9007199254740991: ` +
          "the model's int64 input is taken exactly within ±(2^53 − 1) only (what a JSON number holds)",
      ],
    );
    assert.deepEqual(refusal([{ id: 2.5, on: true }], 'int64'), ["0.id: the model's input is int64: expected an integer, got 2.5"]);
    assert.deepEqual(refusal([{ id: 2 ** 31, on: true }], 'int32'), [
      `0.id: ${2 ** 31} is beyond ±2147483647: the model's int32 input cannot hold it`,
    ]);
  });
});

describe('split and target resolution', () => {
  it('split is deterministic, disjoint, complete and stratified', () => {
    const d = penguinsSpecies();
    const t = resolveTarget(d.table.columns, d.table.rows, d.target);
    const cls = d.table.rows.map((r) => (t.classes as string[]).indexOf(String(r[d.target])));
    const a = splitIndices(cls.length, 7, { validation: 0.2, test: 0.2 }, cls);
    const b = splitIndices(cls.length, 7, { validation: 0.2, test: 0.2 }, cls);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, splitIndices(cls.length, 8, { validation: 0.2, test: 0.2 }, cls));
    const all = [...a.train, ...a.validation, ...a.test].sort((x, y) => x - y);
    assert.deepEqual(
      all,
      cls.map((_, i) => i),
    );
    for (let c = 0; c < 3; c++) {
      const share = (idx: number[]) => idx.filter((i) => cls[i] === c).length / idx.length;
      const overall = cls.filter((x) => x === c).length / cls.length;
      for (const part of [a.train, a.validation, a.test]) assert.ok(Math.abs(share(part) - overall) < 0.03, `class ${c}`);
    }
  });

  it('infers the task and the positive class; rejects impossible specs naming the field', () => {
    const cols: ColumnSchema[] = [
      { name: 'b', type: 'boolean' },
      { name: 'n', type: 'number' },
      { name: 'c', type: 'categorical' },
      { name: 't', type: 'timestamp' },
    ];
    const rs: DataRecord[] = [
      { b: false, n: 1.5, c: 'a', t: 0 },
      { b: false, n: 2.5, c: 'b', t: 0 },
      { b: true, n: 3, c: 'c', t: 0 },
      { b: null, n: 4, c: 'a', t: 0 },
    ];
    assert.deepEqual(resolveTarget(cols, rs, 'b'), {
      name: 'b',
      columnType: 'boolean',
      task: 'binary',
      classes: ['false', 'true'],
      positiveClass: 'true',
    });
    assert.equal(resolveTarget(cols, rs, 'b', { positiveClass: false }).positiveClass, 'false');
    assert.equal(resolveTarget(cols, rs, 'n').task, 'regression');
    assert.deepEqual(resolveTarget(cols, rs, 'c').classes, ['a', 'b', 'c']);
    const field = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof TrainingSpecError);
        return e.field;
      }
      return 'no error';
    };
    assert.equal(
      field(() => resolveTarget(cols, rs, 'c', { task: 'regression' })),
      'task',
    );
    assert.equal(
      field(() => resolveTarget(cols, rs, 'nope')),
      'target',
    );
    assert.equal(
      field(() => resolveTarget(cols, rs, 't')),
      'target',
    );
    assert.equal(
      field(() => resolveTarget(cols, rs, 'c', { task: 'binary' })),
      'task',
    );
    assert.equal(
      field(() => resolveTarget(cols, rs, 'b', { positiveClass: 'maybe' })),
      'positiveClass',
    );
    assert.equal(
      field(() => resolveHyperparameters('mlp', { epochs: 0 })),
      'hyperparameters.epochs',
    );
    assert.equal(
      field(() => resolveHyperparameters('linear', { hiddenUnits: [4] })),
      'hyperparameters.hiddenUnits',
    );
    assert.equal(
      field(() => resolveHyperparameters('mlp', { bogus: 1 } as never)),
      'hyperparameters.bogus',
    );
  });
});
