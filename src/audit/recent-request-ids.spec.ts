import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentRequestIds } from './recent-request-ids';

describe('RecentRequestIds', () => {
  it('knows an id for ttl ms after it was added, and never an id it was not given', () => {
    let now = 1_000;
    const ids = new RecentRequestIds(100, 10, () => now);
    ids.add('a');
    assert.equal(ids.has('a'), true);
    assert.equal(ids.has('b'), false);
    now += 99;
    assert.equal(ids.has('a'), true);
    now += 1;
    assert.equal(ids.has('a'), false);
  });

  it('drops expired ids as new ones arrive, and keeps at most maxIds (the newest)', () => {
    let now = 0;
    const ids = new RecentRequestIds(100, 3, () => now);
    for (const id of ['a', 'b', 'c', 'd']) ids.add(id);
    assert.equal(ids.size, 3);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((id) => ids.has(id)),
      [false, true, true, true],
    );
    now = 150;
    ids.add('e');
    assert.equal(ids.size, 1);
    assert.equal(ids.has('e'), true);
  });
});
