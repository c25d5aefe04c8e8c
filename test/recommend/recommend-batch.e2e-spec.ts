/**
 * Batch recommendations end to end on PostgreSQL: a recommender trained on a planted-group log, then
 * `POST /api/batch-predictions` with `recommend` on a dataset version listing users (known ones,
 * repeated ones and one the model never saw). The output is a new dataset version with one row per
 * (user, rank): the lists equal what /recommend answers for the same user and options, the unknown
 * user gets the popularity list marked `fallback`, progress counts users, each model call is
 * audited once as `batch`, and bad input is a 400 naming the field before anything is queued.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { plantedInteractions } from '../support/planted-interactions';
import { downloadedRows, finishedBatchPrediction, penguinsVersion, trainModel } from '../inference/inference-helpers';
import { csvVersion, interactionsCsv, trainRecommenderJob } from './recommend-helpers';

void (async () => {
  const skip = await skipUnless('postgres');
  describe('recommendations: batch top-K lists as a dataset version', { skip }, () => {
    let kiln: TestKiln;
    const MODEL = 'planted-batch';
    const planted = plantedInteractions({ seed: 6, users: 120, items: 200 });
    // users to score: 40 known (some twice, in an order of their own), one unknown, a row without a user
    const known = Array.from({ length: 40 }, (_, n) => `u${(n * 7) % 120}`);
    const scoringCsv = ['user,segment', ...known.map((u, n) => `${u},${n % 3}`), 'u7,9', 'zz-new,1', ',2', 'u14,0'].join('\n') + '\n';
    const expectedUsers = [...new Set([...known, 'u7', 'zz-new', 'u14'])];
    let scoringVersionId: string;

    before(async () => {
      kiln = await startTestKiln('postgres');
      const versionId = await csvVersion(kiln, 'planted', interactionsCsv(planted.rows));
      await trainRecommenderJob(kiln, {
        datasetVersionId: versionId,
        modelName: MODEL,
        columns: { user: 'user', item: 'item', timestamp: 'ts' },
        hyperparameters: { epochs: 8, seed: 3 },
        promote: 'always',
      });
      scoringVersionId = await csvVersion(kiln, 'users-to-score', scoringCsv);
    });
    after(async () => {
      await kiln?.close();
    });

    it("writes every user's top-K list, equal to /recommend's, unknown users on the popularity fallback", async () => {
      const exclude = [0, 5];
      const create = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: MODEL, datasetVersionId: scoringVersionId, recommend: { k: 5, filterSeen: true, exclude }, chunkSize: 16 },
      });
      assert.equal(create.status, 202, create.text);
      assert.deepEqual(create.body.recommend, { k: 5, filterSeen: true, exclude: ['0', '5'] });
      const done = await finishedBatchPrediction(kiln, create.body.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      assert.equal(done.modelVersion, 1);
      assert.deepEqual(done.progress, { unit: 'users', rowsProcessed: expectedUsers.length, totalRows: expectedUsers.length });

      const out = await kiln.request('GET', `/api/datasets/${done.outputDatasetId}/versions/${done.outputDatasetVersionId}`);
      assert.equal(out.status, 200, out.text);
      assert.deepEqual(
        out.body.columns.map((c: any) => [c.name, c.type]),
        [
          ['user', 'string'],
          ['rank', 'integer'],
          ['item', 'integer'],
          ['score', 'number'],
          ['fallback', 'boolean'],
        ],
      );
      assert.equal(out.body.lineage.kind, 'batch-scoring');
      assert.deepEqual(out.body.lineage.scoredColumns, ['user', 'rank', 'item', 'score', 'fallback']);

      const rows = await downloadedRows(kiln, done.outputDatasetId, done.outputDatasetVersionId);
      assert.equal(rows.length, expectedUsers.length * 5);
      assert.deepEqual([...new Set(rows.map((r) => r.user))], expectedUsers, 'users in order of first appearance, each once');
      for (const user of expectedUsers) {
        const list = rows.filter((r) => r.user === user);
        assert.deepEqual(
          list.map((r) => r.rank),
          [1, 2, 3, 4, 5],
        );
        const live = await kiln.request('POST', `/api/models/${MODEL}/recommend`, { body: { user, k: 5, filterSeen: true, exclude } });
        assert.equal(live.status, 200, live.text);
        assert.deepEqual(
          list.map((r) => r.item),
          live.body.items.map((x: any) => x.item),
          `list of ${user}`,
        );
        list.forEach((r, i) => assert.ok(Math.abs(r.score - live.body.items[i].score) < 1e-4, `score of ${user} #${i + 1}`));
        assert.equal(
          list.every((r) => r.fallback === (user === 'zz-new')),
          true,
          `fallback flag of ${user}`,
        );
        for (const r of list) assert.ok(!exclude.includes(r.item), `${user} got excluded item ${r.item}`);
      }

      // one audit record per model call (16 users per call), kind batch
      const calls = Math.ceil(expectedUsers.length / 16);
      const mine = await eventually(async () => {
        const res = await kiln.request('GET', `/api/audit/predictions?model=${MODEL}&limit=500`);
        assert.equal(res.status, 200, res.text);
        const items = (res.body.items as any[]).filter((p) => String(p.requestId).startsWith(`${create.body.id}:`));
        return items.length >= calls ? items : undefined;
      });
      assert.equal(mine.length, calls);
      assert.equal(
        mine.reduce((s, p) => s + Number(p.rows), 0),
        expectedUsers.length,
      );
      for (const p of mine) assert.deepEqual([p.kind, p.route, p.status], ['batch', 'batch', 200]);
    });

    it('filterSeen false keeps seen items; k defaults to 10', async () => {
      const create = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: MODEL, datasetVersionId: scoringVersionId, recommend: { filterSeen: false } },
      });
      assert.equal(create.status, 202, create.text);
      const done = await finishedBatchPrediction(kiln, create.body.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      const rows = await downloadedRows(kiln, done.outputDatasetId, done.outputDatasetVersionId);
      assert.equal(rows.length, expectedUsers.length * 10);
      const seenBy = new Map<string, Set<number>>();
      for (const r of planted.rows) seenBy.set(r.user, (seenBy.get(r.user) ?? new Set()).add(r.item));
      const seenHits = rows.filter((r) => seenBy.get(r.user)?.has(r.item)).length;
      assert.ok(seenHits > 0, 'with filterSeen false, seen items may come back (the model scores them high)');
    });

    it('bad input: 400 naming the field, nothing queued', async () => {
      const count = async () => (await kiln.request('GET', '/api/batch-predictions')).body.length;
      const before = await count();
      const base = { model: MODEL, datasetVersionId: scoringVersionId };
      const cases: Array<[object, string]> = [
        [{ recommend: { k: 0 } }, 'recommend.k'],
        [{ recommend: { k: 1001 } }, 'recommend.k'],
        [{ recommend: { filterSeen: 'yes' } }, 'recommend.filterSeen'],
        [{ recommend: { exclude: 'x' } }, 'recommend.exclude'],
        [{ recommend: { exclude: [{}] } }, 'recommend.exclude.0'],
        [{ recommend: { top: 3 } }, 'recommend.top'],
        [{ recommend: [] }, 'recommend'],
      ];
      for (const [extra, field] of cases) {
        const r = await kiln.request('POST', '/api/batch-predictions', { body: { ...base, ...extra } });
        assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.text}`);
        assert.ok(
          r.body.errors.some((e: any) => e.field === field),
          `${field} in ${r.text}`,
        );
      }
      // an input without the model's user column
      const noUsers = await csvVersion(kiln, 'no-users', 'customer,segment\na,1\nb,2\n');
      const lacking = await kiln.request('POST', '/api/batch-predictions', { body: { ...base, datasetVersionId: noUsers } });
      assert.equal(lacking.status, 400, lacking.text);
      assert.equal(lacking.body.errors[0].field, 'datasetVersionId');
      assert.match(lacking.body.errors[0].reason, /user column 'user'/);
      // recommend on a tabular model
      const penguins = await penguinsVersion(kiln);
      await trainModel(kiln, { datasetVersionId: penguins.id, modelName: 'a-classifier-batch', target: 'Species', promote: 'always' });
      const tabular = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: 'a-classifier-batch', datasetVersionId: penguins.id, recommend: { k: 3 } },
      });
      assert.equal(tabular.status, 400, tabular.text);
      assert.equal(tabular.body.errors[0].field, 'recommend');
      assert.match(tabular.body.errors[0].reason, /not a recommender/);
      assert.equal(await count(), before, 'nothing queued');
    });
  });
})();
