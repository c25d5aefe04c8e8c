import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { primaryVersion } from './served-version';

const v = (version: number) => ({ version, versionId: `id-${version}` });

describe('primaryVersion', () => {
  it('is the production alias without a deployment', () => {
    assert.deepEqual(primaryVersion({ aliases: { production: v(3), staging: v(4) }, deployment: null }), v(3));
    assert.equal(primaryVersion({ aliases: { staging: v(4) }, deployment: null }), null);
  });

  it('is the first deployment route that resolves, not a canary or the shadow', () => {
    const deployment = {
      routes: [
        { alias: 'gone', version: null, versionId: null, weight: 0 },
        { version: 5, versionId: 'id-5', weight: 0.9 },
        { version: 6, versionId: 'id-6', weight: 0.1 },
      ],
      shadow: v(7),
    };
    assert.deepEqual(primaryVersion({ aliases: { production: v(3) }, deployment }), v(5));
  });

  it('is null when no deployment route resolves (the runtime has nothing to route to either)', () => {
    const deployment = { routes: [{ alias: 'gone', version: null, versionId: null, weight: 0 }], shadow: null };
    assert.equal(primaryVersion({ aliases: { production: v(3) }, deployment }), null);
  });
});
