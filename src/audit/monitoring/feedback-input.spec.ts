import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FEEDBACK_ITEMS, normaliseActual, parseFeedbackBody, type LabelSpec } from './feedback-input';

const BINARY: LabelSpec = { task: 'binary', classes: ['false', 'true'], positiveClass: 'true' };
const MULTI: LabelSpec = { task: 'multiclass', classes: ['Adelie', 'Chinstrap', 'Gentoo'] };
const NUMERIC_CLASSES: LabelSpec = { task: 'binary', classes: ['0', '1'] };
const REGRESSION: LabelSpec = { task: 'regression' };

const fields = (errors: Array<{ field: string }>) => errors.map((e) => e.field);

describe('parseFeedbackBody', () => {
  it('accepts a single item and a batch', () => {
    assert.deepEqual(parseFeedbackBody({ requestId: 'r1', actual: 'Adelie' }), {
      items: [{ path: '', requestId: 'r1', actual: 'Adelie' }],
      errors: [],
    });
    const batch = parseFeedbackBody({
      items: [
        { requestId: 'a', actual: 1 },
        { requestId: 'b', actual: [1, 2] },
      ],
    });
    assert.deepEqual(batch.errors, []);
    assert.deepEqual(
      batch.items.map((i) => i.path),
      ['items.0', 'items.1'],
    );
  });

  it('names every bad field', () => {
    const r = parseFeedbackBody({
      items: [
        { requestId: 'a', actual: 'x' },
        { requestId: 5, actual: 'x' },
        { requestId: 'c' },
        'oops',
        { requestId: 'a', actual: 'y' },
        { requestId: 'e', actual: 1, extra: 1 },
      ],
    });
    assert.deepEqual(fields(r.errors), ['items.1.requestId', 'items.2.actual', 'items.3', 'items.4.requestId', 'items.5.extra']);
    assert.deepEqual(fields(parseFeedbackBody({ requestId: '', actual: null }).errors), ['requestId', 'actual']);
    assert.deepEqual(fields(parseFeedbackBody([]).errors), ['body']);
    assert.deepEqual(fields(parseFeedbackBody({ items: [] }).errors), ['items']);
    assert.deepEqual(fields(parseFeedbackBody({ items: new Array(MAX_FEEDBACK_ITEMS + 1).fill({ requestId: 'a', actual: 1 }) }).errors), [
      'items',
    ]);
    assert.deepEqual(fields(parseFeedbackBody({ items: [{ requestId: 'a', actual: 1 }], requestId: 'x' }).errors), ['requestId']);
  });
});

describe('normaliseActual', () => {
  const item = (actual: unknown, path = 'items.3') => ({ path, requestId: 'r', actual });

  it('stringifies class labels like training labels and wraps them in an array', () => {
    assert.deepEqual(normaliseActual(item(true), BINARY, 1), { value: ['true'] });
    assert.deepEqual(normaliseActual(item(1), NUMERIC_CLASSES, 1), { value: ['1'] });
    assert.deepEqual(normaliseActual(item(['Gentoo', 'Adelie']), MULTI, 2), { value: ['Gentoo', 'Adelie'] });
    assert.deepEqual(normaliseActual(item(['Gentoo']), MULTI, 1), { value: ['Gentoo'] });
  });

  it('rejects labels the version does not know, and wrong types', () => {
    const r = normaliseActual(item('Emperor'), MULTI, 1);
    assert.ok('errors' in r);
    assert.equal(r.errors[0]!.field, 'items.3.actual');
    assert.match(r.errors[0]!.reason, /not a class/);
    const nested = normaliseActual(item(['Adelie', { x: 1 }]), MULTI, 2);
    assert.ok('errors' in nested);
    assert.deepEqual(fields(nested.errors), ['items.3.actual.1']);
  });

  it('needs finite numbers for regression', () => {
    assert.deepEqual(normaliseActual(item(2.5), REGRESSION, 1), { value: [2.5] });
    for (const bad of ['2.5', true, Number.NaN]) {
      const r = normaliseActual(item(bad, ''), REGRESSION, 1);
      assert.ok('errors' in r, String(bad));
      assert.equal(r.errors[0]!.field, 'actual');
    }
  });

  it('needs one value per scored record', () => {
    const scalar = normaliseActual(item('Adelie'), MULTI, 3);
    assert.ok('errors' in scalar);
    assert.match(scalar.errors[0]!.reason, /3 records/);
    const short = normaliseActual(item(['Adelie']), MULTI, 2);
    assert.ok('errors' in short);
    assert.match(short.errors[0]!.reason, /has 1 values/);
  });
});
