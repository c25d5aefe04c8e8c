import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorFormats, errorMessageJson, problem, problemJson } from './problem-details';

describe('ErrorFormats', () => {
  const formats = new ErrorFormats().register('/v2', errorMessageJson).register('/v2/special', problemJson);

  it('uses problem+json by default and the registered format for a prefix (longest wins)', () => {
    const p = problem(400, 'inputs[0].shape: expected 2 elements');
    assert.equal(formats.forUrl('/api/keys')(p).contentType, 'application/problem+json');
    assert.deepEqual(formats.forUrl('/v2/models/m/infer?x=1')(p).body, { error: 'inputs[0].shape: expected 2 elements' });
    assert.equal(formats.forUrl('/v2')(p).contentType, 'application/json');
    assert.equal(formats.forUrl('/v2/special/thing')(p).contentType, 'application/problem+json');
    assert.equal(formats.forUrl('/v20/x')(p).contentType, 'application/problem+json', 'prefix matches whole segments');
  });
});
