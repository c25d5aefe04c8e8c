/** Unit tests of batch predictions' pure parts: column naming, output schema, feature records, output rows. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { featureRecord, missingFeatures, outputRow, outputSchema, predictionColumns, sanitizeColumnPart } from './prediction-columns';

describe('prediction columns', () => {
  it('sanitises class names to [A-Za-z0-9_] and never returns an empty name', () => {
    assert.equal(sanitizeColumnPart('Adelie'), 'Adelie');
    assert.equal(sanitizeColumnPart('Gentoo penguin (big)'), 'Gentoo_penguin_big');
    assert.equal(sanitizeColumnPart('Adélie'), 'Ad_lie');
    assert.equal(sanitizeColumnPart('>50K'), '50K');
    assert.equal(sanitizeColumnPart('???'), 'class');
    assert.equal(sanitizeColumnPart('a.b-c'), 'a_b_c');
  });

  it('names prediction + one probability column per class for multiclass, in class order, without score', () => {
    const cols = predictionColumns({ task: 'multiclass', classes: ['Adelie', 'Chinstrap', 'Gentoo'] }, ['Island', 'Sex']);
    assert.deepEqual(cols, {
      task: 'multiclass',
      prediction: 'prediction',
      probabilities: [
        { label: 'Adelie', column: 'probability_Adelie' },
        { label: 'Chinstrap', column: 'probability_Chinstrap' },
        { label: 'Gentoo', column: 'probability_Gentoo' },
      ],
      score: null,
    });
  });

  it('adds score for binary: the positive class (classes[1] unless positiveClass says otherwise)', () => {
    const cols = predictionColumns({ task: 'binary', classes: ['no', 'yes'] }, []);
    assert.deepEqual(cols.score, { label: 'yes', column: 'score' });
    assert.deepEqual(
      cols.probabilities.map((p) => p.column),
      ['probability_no', 'probability_yes'],
    );
    assert.deepEqual(predictionColumns({ task: 'binary', classes: ['no', 'yes'], positiveClass: 'yes' }, []).score?.label, 'yes');
  });

  it('regression has only prediction', () => {
    assert.deepEqual(predictionColumns({ task: 'regression' }, ['x']), {
      task: 'regression',
      prediction: 'prediction',
      probabilities: [],
      score: null,
    });
  });

  it('never overwrites an input column and keeps colliding class names apart', () => {
    const cols = predictionColumns({ task: 'binary', classes: ['a b', 'a-b'] }, ['prediction', 'score', 'probability_a_b']);
    assert.equal(cols.prediction, 'prediction_2');
    assert.deepEqual(
      cols.probabilities.map((p) => p.column),
      ['probability_a_b_2', 'probability_a_b_3'],
    );
    assert.equal(cols.score?.column, 'score_2');
  });

  it('rejects a classification target without at least two classes', () => {
    assert.throws(() => predictionColumns({ task: 'multiclass', classes: ['only'] }, []), /at least two classes/);
  });
});

describe('output schema', () => {
  it('keeps the input columns with their types, then types the prediction columns', () => {
    const cols = predictionColumns({ task: 'binary', classes: ['false', 'true'] }, ['when', 'n', 'tag']);
    const schema = outputSchema(
      [
        { name: 'when', type: 'timestamp', nullable: false },
        { name: 'n', type: 'integer', nullable: true },
        { name: 'tag', type: 'categorical', nullable: true, categories: ['x', 'y'] },
      ],
      cols,
    );
    assert.deepEqual(schema, [
      { name: 'when', type: 'timestamp', nullable: false },
      { name: 'n', type: 'integer', nullable: true },
      { name: 'tag', type: 'categorical', nullable: true, categories: ['x', 'y'] },
      { name: 'prediction', type: 'categorical', categories: ['false', 'true'] },
      { name: 'probability_false', type: 'number' },
      { name: 'probability_true', type: 'number' },
      { name: 'score', type: 'number' },
    ]);
  });

  it('types a regression prediction as number', () => {
    const schema = outputSchema([{ name: 'x', type: 'number', nullable: false }], predictionColumns({ task: 'regression' }, ['x']));
    assert.deepEqual(schema.at(-1), { name: 'prediction', type: 'number' });
  });
});

describe('records and rows', () => {
  it('lists the features a dataset lacks', () => {
    assert.deepEqual(missingFeatures([{ name: 'a' }, { name: 'b' }, { name: 'c' }], ['c', 'a', 'z']), ['b']);
    assert.deepEqual(missingFeatures([{ name: 'a' }], ['a']), []);
  });

  it('sends only the features, nulls kept', () => {
    const rec = featureRecord({ a: 1, b: null, c: 'x', target: 'no' }, [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    assert.deepEqual(rec, { a: 1, b: null, c: 'x' });
    assert.equal(Object.prototype.hasOwnProperty.call(rec, 'target'), false);
  });

  it('appends label, per-class probabilities and score to the input row', () => {
    const cols = predictionColumns({ task: 'binary', classes: ['no', 'yes'] }, ['a', 'target']);
    const row = outputRow({ a: 1, target: 'no' }, { label: 'yes', probabilities: { no: 0.25, yes: 0.75 } }, cols);
    assert.deepEqual(row, { a: 1, target: 'no', prediction: 'yes', probability_no: 0.25, probability_yes: 0.75, score: 0.75 });
  });

  it('writes a regression value, and null for a missing or non-finite output', () => {
    const cols = predictionColumns({ task: 'regression' }, ['a']);
    assert.deepEqual(outputRow({ a: 2 }, { value: 3.5 }, cols), { a: 2, prediction: 3.5 });
    assert.deepEqual(outputRow({ a: 2 }, { value: NaN }, cols), { a: 2, prediction: null });
    const mc = predictionColumns({ task: 'multiclass', classes: ['x', 'y', 'z'] }, []);
    assert.deepEqual(outputRow({}, { label: 'x', probabilities: { x: 1 } }, mc), {
      prediction: 'x',
      probability_x: 1,
      probability_y: null,
      probability_z: null,
    });
  });
});
