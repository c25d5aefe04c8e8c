import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nulFieldIn, nulParameterErrors, unstorableFieldIn } from './stored-strings';

describe('stored strings', () => {
  it('names the first string or key holding NUL, at any depth', () => {
    assert.equal(nulFieldIn({ a: 'x', b: [{ c: 'y' }, { d: 'a\u0000' }] }, ''), 'b.1.d');
    assert.equal(nulFieldIn({ ['k\u0000']: 1 }, 'body'), 'body.k\u0000');
    assert.equal(nulFieldIn({ a: ['ok', 1, null, true] }, ''), null);
  });

  it('refuses unpaired surrogates but keeps pairs (emoji)', () => {
    assert.deepEqual(unstorableFieldIn({ name: 'a\ud800' }, ''), { field: 'name', reason: unstorableFieldIn('\udfff', '')!.reason });
    assert.equal(unstorableFieldIn({ name: 'kiln 😀' }, ''), null);
    assert.equal(unstorableFieldIn('\u0000', '')?.field, 'body');
  });

  it('reports path and query parameters separately', () => {
    const errors = nulParameterErrors({ params: { id: 'a\u0000' }, query: { model: 'm', to: ['x', '\u0000'] } } as never);
    assert.deepEqual(
      errors.map((e) => e.field),
      ['id', 'to.1'],
    );
    assert.match(errors[0]!.reason, /^path parameter/);
    assert.match(errors[1]!.reason, /^query parameter/);
  });
});
