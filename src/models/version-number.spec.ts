import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_VERSION_NUMBER, parseVersionNumber } from './version-number';

describe('parseVersionNumber', () => {
  it('accepts 1 … 2^31−1 (the int4 column) and nothing else', () => {
    assert.equal(parseVersionNumber('1'), 1);
    assert.equal(parseVersionNumber(String(MAX_VERSION_NUMBER)), MAX_VERSION_NUMBER);
    for (const bad of ['2147483648', '9999999999', '99999999999999999999', '0', '-1', '01', '1.0', '1e3', '', ' 1', 'x']) {
      assert.equal(parseVersionNumber(bad), null, bad);
    }
  });
});
