/**
 * /recommend and /similar-items end to end on PostgreSQL: a recommender trained on a planted-group
 * interaction log and served through the same routing, aliases and audit as every other model.
 * Checks the planted structure comes back (a user's list is mostly their own group), seen and
 * excluded items stay out, unknown users fall back to popularity, concurrent (batched) calls answer
 * exactly what single calls do, bad input is a 400 naming the field, and every answered call is
 * audited exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { plantedInteractions } from '../support/planted-interactions';
import { penguinsVersion, trainModel } from '../inference/inference-helpers';
import { csvVersion, interactionsCsv, trainRecommenderJob } from './recommend-helpers';

void (async () => {
  const skip = await skipUnless('postgres');
  describe('recommendations: /recommend and /similar-items', { skip }, () => {
    let kiln: TestKiln;
    const MODEL = 'planted-serving';
    const planted = plantedInteractions({ seed: 4 });
    const seenBy = new Map<string, Set<number>>();
    for (const r of planted.rows) seenBy.set(r.user, (seenBy.get(r.user) ?? new Set()).add(r.item));
    const requestIds: string[] = [];
    const what = new Map<string, string>();

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_ROUTING_REFRESH_MS: '200' });
      const versionId = await csvVersion(kiln, 'planted', interactionsCsv(planted.rows));
      await trainRecommenderJob(kiln, {
        datasetVersionId: versionId,
        modelName: MODEL,
        columns: { user: 'user', item: 'item', timestamp: 'ts' },
        hyperparameters: { epochs: 15, seed: 5 },
        promote: 'always',
      });
      // version 2: another seed, not promoted (the canary / shadow below)
      await trainRecommenderJob(kiln, {
        datasetVersionId: versionId,
        modelName: MODEL,
        columns: { user: 'user', item: 'item', timestamp: 'ts' },
        hyperparameters: { epochs: 3, seed: 9, embeddingSize: 8 },
      });
      const penguins = await penguinsVersion(kiln);
      await trainModel(kiln, { datasetVersionId: penguins.id, modelName: 'a-classifier', target: 'Species', promote: 'always' });
    });
    after(async () => {
      await kiln?.close();
    });

    const call = async (path: string, body: unknown, query = '') => {
      const res = await kiln.request('POST', `/api/models/${MODEL}/${path}${query}`, { body });
      const id = (res.body?.requestId as string | undefined) ?? res.headers.get('x-request-id');
      if (id) {
        requestIds.push(id);
        what.set(id, `${path}${query} ${JSON.stringify(body)} → ${res.status}`);
      }
      return res;
    };

    it("a user's top-K: mostly their own group, nothing already seen, best first", async () => {
      let inGroup = 0;
      let total = 0;
      for (const user of ['u0', 'u1', 'u7', 'u42', 'u199']) {
        const res = await call('recommend', { user, k: 10 });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.model, MODEL);
        assert.equal(res.body.version, 1);
        assert.equal(res.body.fallback, undefined);
        const items = res.body.items as Array<{ item: number; score: number }>;
        assert.equal(items.length, 10);
        for (let i = 1; i < items.length; i++) assert.ok(items[i - 1]!.score >= items[i]!.score, 'sorted by score');
        for (const { item } of items) {
          assert.equal(typeof item, 'number', 'an integer item column answers numbers');
          assert.ok(!seenBy.get(user)!.has(item), `${user} already interacted with ${item}`);
          total += 1;
          if (planted.groupOfItem(item) === planted.groupOfUser(user)) inGroup += 1;
        }
      }
      assert.ok(inGroup / total >= 0.7, `in-group share ${inGroup}/${total}`);
    });

    it('exclude and filterSeen: false', async () => {
      const first = (await call('recommend', { user: 'u3', k: 5 })).body.items.map((x: { item: number }) => x.item);
      const res = await call('recommend', { user: 'u3', k: 5, exclude: first.slice(0, 2) });
      assert.equal(res.status, 200, res.text);
      const next = res.body.items.map((x: { item: number }) => x.item);
      assert.deepEqual(next.slice(0, 3), first.slice(2));
      const withSeen = await call('recommend', { user: 'u3', k: 50, filterSeen: false });
      assert.ok(
        withSeen.body.items.some((x: { item: number }) => seenBy.get('u3')!.has(x.item)),
        'seen items come back when asked',
      );
    });

    it('an unknown user gets the popularity list, marked', async () => {
      const res = await call('recommend', { user: 'nobody', k: 3 });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.fallback, 'popularity');
      assert.equal(res.body.items.length, 3);
      assert.ok(res.body.items[0].score >= res.body.items[2].score);
    });

    it('similar items: mostly the same group, never the item itself', async () => {
      let same = 0;
      for (const item of [0, 1, 2, 3, 4]) {
        const res = await call('similar-items', { item, k: 10 });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.items.length, 10);
        for (const x of res.body.items as Array<{ item: number }>) {
          assert.notEqual(x.item, item);
          if (planted.groupOfItem(x.item) === planted.groupOfItem(item)) same += 1;
        }
      }
      assert.ok(same / 50 >= 0.7, `same-group share ${same}/50`);
    });

    it('concurrent calls (batched together) answer what single calls answer', async () => {
      const users = Array.from({ length: 24 }, (_, i) => `u${i * 7}`);
      const single: unknown[] = [];
      for (const user of users.slice(0, 6)) single.push((await call('recommend', { user, k: 7 })).body.items);
      const together = await Promise.all(users.map((user, i) => call('recommend', { user, k: 3 + (i % 9) })));
      for (const r of together) assert.equal(r.status, 200, r.text);
      // same user and k: the same list (k differs across the batch; each caller gets its own)
      const again = await Promise.all(users.slice(0, 6).map((user) => call('recommend', { user, k: 7 })));
      again.forEach((r, i) => assert.deepEqual(r.body.items, single[i]));
      together.forEach((r, i) => assert.equal(r.body.items.length, 3 + (i % 9)));
    });

    it('bad input: 400 naming the field; a classifier is not a recommender; an unknown model is 404', async () => {
      const cases: Array<[string, unknown, string]> = [
        ['recommend', { user: 'u1', k: 0 }, 'k'],
        ['recommend', { user: 'u1', k: 1001 }, 'k'],
        ['recommend', { user: 'u1', k: 2.5 }, 'k'],
        ['recommend', { k: 3 }, 'user'],
        ['recommend', { user: 'u1', filterSeen: 'yes' }, 'filterSeen'],
        ['recommend', { user: 'u1', exclude: [{}] }, 'exclude.0'],
        ['recommend', { user: 'u1', other: 1 }, 'other'],
        ['similar-items', { item: 99_999 }, 'item'],
        ['similar-items', { item: 1, k: 1001 }, 'k'],
      ];
      for (const [path, body, field] of cases) {
        const res = await call(path, body);
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
        assert.ok(
          (res.body.errors as Array<{ field: string }>).some((e) => e.field === field),
          `${JSON.stringify(body)} names ${field}: ${res.text}`,
        );
      }
      const notObject = await call('recommend', [1, 2]);
      assert.equal(notObject.status, 400, notObject.text);
      const classifier = await kiln.request('POST', '/api/models/a-classifier/recommend', { body: { user: 'u1' } });
      assert.equal(classifier.status, 400, classifier.text);
      assert.match(classifier.body.detail, /not a recommender/);
      const unknown = await kiln.request('POST', '/api/models/no-such-model/recommend', { body: { user: 'u1' } });
      assert.equal(unknown.status, 404, unknown.text);
      const badVersion = await call('recommend', { user: 'u1' }, '?version=9');
      assert.equal(badVersion.status, 404, badVersion.text);
      const badAlias = await call('recommend', { user: 'u1' }, '?alias=nope');
      assert.equal(badAlias.status, 404, badAlias.text);
      // the record API on a recommender says where to ask instead
      const predict = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records: [{ user: 'u1' }] } });
      assert.equal(predict.status, 400, predict.text);
      assert.match(predict.body.detail, /is a recommender/);
    });

    it('every answered call is audited exactly once, with its route', async () => {
      const ids = [...requestIds];
      assert.ok(ids.length > 40);
      const logged = await eventually(async () => {
        const res = await kiln.request('GET', `/api/audit/predictions?model=${MODEL}&limit=500`);
        assert.equal(res.status, 200, res.text);
        // records reach the table through the audit queue: wait until every call's is there
        const items = res.body.items as Array<{ requestId: string; route: string; status: number }>;
        const logged = new Set(items.map((p) => p.requestId));
        return ids.every((id) => logged.has(id)) ? items : undefined;
      });
      const mine = logged.filter((p) => p.route === 'recommend');
      const counts = new Map<string, number>();
      for (const p of mine) counts.set(p.requestId, (counts.get(p.requestId) ?? 0) + 1);
      for (const id of ids) assert.equal(counts.get(id), 1, `request ${what.get(id)} (${id}) audited ${counts.get(id) ?? 0} times`);
      assert.equal(mine.length, ids.length, 'no extra records');
      assert.ok(mine.some((p) => p.status === 400) && mine.some((p) => p.status === 200));
    });

    it('versions and aliases select; a deployment splits traffic and a shadow sees copies', async () => {
      const own = async (v: number, user: string) => (await call('recommend', { user, k: 5 }, `?version=${v}`)).body.items;
      assert.notDeepEqual(await own(1, 'u5'), await own(2, 'u5'));
      const viaAlias = await call('recommend', { user: 'u5', k: 5 }, '?alias=production');
      assert.equal(viaAlias.body.version, 1);
      const put = await kiln.request('PUT', `/api/models/${MODEL}/deployment`, {
        body: {
          routes: [
            { alias: 'production', weight: 50 },
            { version: 2, weight: 50 },
          ],
        },
      });
      assert.equal(put.status, 200, put.text);
      const expected = new Map([
        [1, await own(1, 'u6')],
        [2, await own(2, 'u6')],
      ]);
      const seen = await eventually(async () => {
        const versions = new Set<number>();
        for (let i = 0; i < 30; i++) {
          const r = await kiln.request('POST', `/api/models/${MODEL}/recommend`, {
            body: { user: 'u6', k: 5 },
            headers: { 'x-request-id': `split-${i}` },
          });
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(r.body.items, expected.get(r.body.version as number), "each answer is its version's own");
          versions.add(r.body.version as number);
        }
        return versions.size === 2 ? versions : undefined;
      }, 10_000);
      assert.deepEqual([...seen].sort(), [1, 2]);
      const shadowPut = await kiln.request('PUT', `/api/models/${MODEL}/deployment`, {
        body: { routes: [{ alias: 'production', weight: 100 }], shadow: 2 },
      });
      assert.equal(shadowPut.status, 200, shadowPut.text);
      const shadow = await eventually(async () => {
        await kiln.request('POST', `/api/models/${MODEL}/recommend`, { body: { user: 'u8', k: 5 } });
        const r = await kiln.request('GET', `/api/models/${MODEL}/shadow`);
        return r.body.calls >= 3 ? r.body : undefined;
      }, 10_000);
      assert.equal(shadow.errors, 0);
      assert.equal(shadow.recent[0].shadowVersion, 2);
      assert.equal(shadow.recent[0].liveVersion, 1);
    });
  });
})();
