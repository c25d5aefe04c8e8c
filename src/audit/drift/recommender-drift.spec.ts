import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareToReference, OTHER_CATEGORY } from './statistics';
import { buildRecommendWindow, recommenderProfile } from './recommender-drift';

const index = {
  users: ['a', 'b', 'c', 'd'],
  items: ['1', '2', '3'],
  userCounts: [10, 30, 5, 5],
  itemCounts: [20, 5, 25],
};

describe('recommender drift (pure)', () => {
  it('profile: the top users/items by training interactions, the rest in other', () => {
    const p = recommenderProfile(index, { user: 'user', item: 'item' }, 2);
    assert.equal(p.rowCount, 50);
    const user = p.columns['user']!;
    assert.equal(user.kind, 'categorical');
    if (user.kind !== 'categorical') return;
    assert.deepEqual(user.frequencies, { b: 30, a: 10 });
    assert.equal(user.otherCount, 10);
    const item = p.columns['item']!;
    if (item.kind !== 'categorical') return;
    assert.deepEqual(item.frequencies, { '3': 25, '1': 20 });
    assert.equal(item.otherCount, 5);
  });

  it('window: one user per /recommend call, every item served, fallbacks counted; similar-items and hashed calls skipped', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const w = buildRecommendWindow(
      [
        {
          servedAt: t(5),
          inputs: { user: 'b', k: 2 },
          outputs: {
            items: [
              { item: 3, score: 1 },
              { item: 1, score: 0.5 },
            ],
          },
        },
        { servedAt: t(4), inputs: { item: 3, k: 2 }, outputs: { items: [{ item: 1, score: 1 }] } },
        { servedAt: t(3), inputs: null, outputs: null },
        { servedAt: t(2), inputs: { user: 'zz' }, outputs: { items: [{ item: 3, score: 25 }], fallback: 'popularity' } },
        { servedAt: t(1), inputs: { user: 7 }, outputs: { items: [] } },
      ],
      3,
    );
    assert.deepEqual(w.users, ['b', 'zz', '7']);
    assert.deepEqual(w.items, ['3', '1', '3']);
    assert.equal(w.unknownUsers, 1);
    assert.equal(w.requests, 3);
    assert.equal(w.hashedRequests, 1);
    assert.deepEqual([w.from, w.to], [t(1), t(5)]);
  });

  it('traffic from unknown users lands in other and drifts; proportional traffic does not', () => {
    const p = recommenderProfile(index, { user: 'user', item: 'item' }, 2);
    const proportional = [...Array<string>(30).fill('b'), ...Array<string>(10).fill('a'), ...Array<string>(10).fill('c')];
    const same = compareToReference(p, { columns: { user: proportional } }, { features: ['user'] });
    assert.equal(same.features[0]!.drifted, false);
    assert.ok(same.features[0]!.score < 1e-9);
    const strangers = [...Array<string>(40).fill('new'), ...Array<string>(10).fill('b')];
    const shifted = compareToReference(p, { columns: { user: strangers } }, { features: ['user'] });
    assert.equal(shifted.features[0]!.drifted, true);
    assert.ok(OTHER_CATEGORY.length > 0);
  });
});
