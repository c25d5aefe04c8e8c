/**
 * Import of a recommender trained elsewhere (`kiln.recommender-embeddings.v1`: ids, embeddings,
 * biases, popularity, seen items) end to end on PostgreSQL: the imported version answers /recommend,
 * /similar-items and batch recommendations exactly as the embeddings say (scores computed here by
 * hand), unknown users get the declared popularity, and a bad document is a 400 naming the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { downloadedRows, finishedBatchPrediction } from '../inference/inference-helpers';
import { csvVersion } from './recommend-helpers';

const GROUPS = 3;
const USERS = Array.from({ length: 30 }, (_, u) => `u${u}`);
const ITEMS = Array.from({ length: 60 }, (_, i) => 1000 + i);
const groupOf = (n: number) => n % GROUPS;
// factors: the group as a one-hot direction, plus a little per-id variation so scores are distinct
const userFactors = USERS.map((_, u) => Array.from({ length: 4 }, (_, c) => (c === groupOf(u) ? 1 : 0) + (c === 3 ? u / 100 : 0)));
const itemFactors = ITEMS.map((_, i) =>
  Array.from({ length: 4 }, (_, c) => (c === groupOf(i) ? 2 : 0) + (c === 3 ? ((i * 7) % 11) / 10 : 0)),
);
const itemBias = ITEMS.map((_, i) => -i / 100);
const userBias = USERS.map((_, u) => u / 1000);
const itemPopularity = ITEMS.map((_, i) => (i * 13) % 17);
const seen = { u0: [1000, 1003], u4: [1001] };

function document(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'kiln.recommender-embeddings.v1',
    users: USERS,
    items: ITEMS,
    userFactors,
    itemFactors,
    userBias,
    itemBias,
    globalBias: 0.5,
    itemPopularity,
    seen,
    ...overrides,
  };
}

/** The top-k by the embeddings' own formula, leaving out `excluded`. */
function expectedTop(u: number, k: number, excluded: number[]): Array<{ item: number; score: number }> {
  return ITEMS.map((item, i) => ({
    item,
    score: 0.5 + userBias[u]! + itemBias[i]! + userFactors[u]!.reduce((s, x, c) => s + x * itemFactors[i]![c]!, 0),
  }))
    .filter((x) => !excluded.includes(x.item))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

void (async () => {
  const skip = await skipUnless('postgres');
  describe('recommendations: import of embeddings', { skip }, () => {
    let kiln: TestKiln;
    const MODEL = 'imported-embeddings';

    async function importDoc(body: unknown, name = MODEL, extra?: (form: FormData) => void): Promise<{ status: number; body: any }> {
      const form = new FormData();
      form.append('embeddings', new Blob([typeof body === 'string' ? body : JSON.stringify(body)]), 'embeddings.json');
      extra?.(form);
      const res = await fetch(`${kiln.url}/api/models/${name}/versions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kiln.adminKey}` },
        body: form,
      });
      return { status: res.status, body: await res.json() };
    }

    before(async () => {
      kiln = await startTestKiln('postgres');
    });
    after(async () => {
      await kiln?.close();
    });

    it('imports the embeddings as a recommender version and serves them exactly', async () => {
      const imported = await importDoc(document());
      assert.equal(imported.status, 201, JSON.stringify(imported.body));
      assert.equal(imported.body.version, 1);
      assert.equal(imported.body.task, 'recommendation');
      assert.equal(imported.body.source, 'imported');
      assert.equal(imported.body.recommender.users, 30);
      assert.equal(imported.body.recommender.items, 60);
      assert.equal(imported.body.recommender.embeddingSize, 4);
      const alias = await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } });
      assert.ok(alias.status === 200 || alias.status === 201, alias.text);

      for (const [u, excluded] of [
        [0, seen.u0],
        [4, seen.u4],
        [17, []],
      ] as Array<[number, number[]]>) {
        const res = await kiln.request('POST', `/api/models/${MODEL}/recommend`, { body: { user: `u${u}`, k: 6 } });
        assert.equal(res.status, 200, res.text);
        const want = expectedTop(u, 6, excluded);
        assert.deepEqual(
          res.body.items.map((x: any) => x.item),
          want.map((x) => x.item),
          `u${u}`,
        );
        res.body.items.forEach((x: any, n: number) => assert.ok(Math.abs(x.score - want[n]!.score) < 1e-4, `u${u} #${n}`));
      }
      // filterSeen false: the seen items may come back
      const all = await kiln.request('POST', `/api/models/${MODEL}/recommend`, { body: { user: 'u0', k: 6, filterSeen: false } });
      assert.deepEqual(
        all.body.items.map((x: any) => x.item),
        expectedTop(0, 6, []).map((x) => x.item),
      );
      // an unknown user: the declared popularity, most popular first
      const stranger = await kiln.request('POST', `/api/models/${MODEL}/recommend`, { body: { user: 'nobody', k: 3 } });
      assert.equal(stranger.body.fallback, 'popularity');
      const popular = ITEMS.map((item, i) => ({ item, c: itemPopularity[i]! }))
        .sort((a, b) => b.c - a.c || a.item - b.item)
        .slice(0, 3);
      assert.deepEqual(
        stranger.body.items,
        popular.map((p) => ({ item: p.item, score: p.c })),
      );
      // similar items: cosine of the item embeddings, the same group first
      const similar = await kiln.request('POST', `/api/models/${MODEL}/similar-items`, { body: { item: 1000, k: 5 } });
      assert.equal(similar.status, 200, similar.text);
      for (const x of similar.body.items) assert.equal(groupOf(x.item - 1000), 0, `item ${x.item}`);
    });

    it('batch recommendations run on the imported version (integer item ids)', async () => {
      const input = await csvVersion(kiln, 'imported-users', 'user\nu0\nu17\nnobody\n');
      const create = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: MODEL, datasetVersionId: input, recommend: { k: 4 } },
      });
      assert.equal(create.status, 202, create.text);
      const done = await finishedBatchPrediction(kiln, create.body.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      const rows = await downloadedRows(kiln, done.outputDatasetId, done.outputDatasetVersionId);
      assert.deepEqual(
        rows.filter((r) => r.user === 'u17').map((r) => r.item),
        expectedTop(17, 4, []).map((x) => x.item),
      );
      assert.equal(rows.filter((r) => r.fallback).length, 4);
    });

    it('a bad document is a 400 naming the field; nothing is registered', async () => {
      const cases: Array<[unknown, string]> = [
        ['{not json', 'embeddings'],
        [[], 'embeddings.embeddings'],
        [document({ format: 'other' }), 'embeddings.format'],
        [document({ users: ['u0', 'u0', ...USERS.slice(2)] }), 'embeddings.users.1'],
        [document({ items: [1000], itemFactors: [itemFactors[0]] }), 'embeddings.items'],
        [document({ userFactors: userFactors.slice(1) }), 'embeddings.userFactors'],
        [document({ itemFactors: [itemFactors[0], [1, 2], ...itemFactors.slice(2)] }), 'embeddings.itemFactors.1'],
        [document({ itemFactors: [itemFactors[0], [1, 2, 'x', 4], ...itemFactors.slice(2)] }), 'embeddings.itemFactors.1.2'],
        [document({ itemBias: [1] }), 'embeddings.itemBias'],
        [document({ itemPopularity: ITEMS.map(() => -1) }), 'embeddings.itemPopularity.0'],
        [document({ seen: { nobody: [1000] } }), 'embeddings.seen.nobody'],
        [document({ seen: { u0: [5] } }), 'embeddings.seen.u0.0'],
        [document({ columns: { user: 'x', item: 'x' } }), 'embeddings.columns.item'],
        [document({ extra: 1 }), 'embeddings.extra'],
      ];
      for (const [doc, field] of cases) {
        const r = await importDoc(doc, 'bad-embeddings');
        assert.equal(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.errors?.[0]?.field, field, JSON.stringify(r.body));
      }
      const withModel = await importDoc(document(), 'bad-embeddings', (f) => f.append('signature', '{}'));
      assert.equal(withModel.status, 400);
      assert.equal(withModel.body.errors[0].field, 'embeddings');
      const none = await kiln.request('GET', '/api/models/bad-embeddings');
      assert.equal(none.status, 404, 'nothing registered');
    });
  });
})();
