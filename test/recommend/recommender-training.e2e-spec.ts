/**
 * The `recommender` template end to end on PostgreSQL: a generated interaction log with planted
 * structure ingested as CSV, trained as a queued job, registered with its top-K metrics next to the
 * popularity baseline; bad specs answered 400 before anything is queued.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { plantedInteractions } from '../support/planted-interactions';
import { csvVersion, interactionsCsv, trainRecommenderJob } from './recommend-helpers';

void (async () => {
  const skip = await skipUnless('postgres');
  describe('recommender template: training job', { skip }, () => {
    let kiln: TestKiln;
    let versionId: string;
    before(async () => {
      kiln = await startTestKiln('postgres');
      versionId = await csvVersion(kiln, 'planted', interactionsCsv(plantedInteractions({ seed: 3 }).rows));
    });
    after(async () => {
      await kiln?.close();
    });

    it('trains as a queued job and registers a version whose test NDCG@10 beats popularity', async () => {
      const job = await trainRecommenderJob(kiln, {
        datasetVersionId: versionId,
        modelName: 'planted-recs',
        columns: { user: 'user', item: 'item', timestamp: 'ts' },
        hyperparameters: { epochs: 15, seed: 5 },
      });
      assert.equal(job.history.length, 15);
      assert.equal(job.history[0].valMetricName, 'ndcgAtK');
      // the job shows the recommender's own defaults, not the tabular templates'
      assert.deepEqual(job.resolved.split, { validation: 0.1, test: 0.2 });
      assert.equal(job.resolved.hyperparameters.embeddingSize, 32);
      const res = await kiln.request('GET', `/api/models/planted-recs/versions/${job.modelVersion.version}`);
      assert.equal(res.status, 200, res.text);
      const v = res.body;
      assert.equal(v.task, 'recommendation');
      assert.equal(v.recommender.feedback, 'implicit');
      assert.equal(v.recommender.users, 300);
      assert.equal(v.lineage.split.by, 'time');
      const t = v.metrics.test;
      console.log(`e2e planted: test NDCG@10 ${t.ndcgAtK.toFixed(3)} vs popularity ${t.baseline.ndcgAtK.toFixed(3)}`);
      assert.equal(t.k, 10);
      assert.equal(t.baseline.name, 'popularity');
      assert.ok(t.ndcgAtK >= 1.5 * t.baseline.ndcgAtK, `NDCG@10 ${t.ndcgAtK} vs ${t.baseline.ndcgAtK}`);
      for (const m of ['precisionAtK', 'recallAtK', 'mapAtK', 'coverage']) assert.equal(typeof t.baseline[m], 'number', m);
    });

    it('answers 400 naming the field before queueing', async () => {
      const post = (body: Record<string, unknown>) =>
        kiln.request('POST', '/api/training-jobs', {
          body: { datasetVersionId: versionId, modelName: 'bad-recs', template: 'recommender', ...body },
        });
      const cases: Array<[Record<string, unknown>, string]> = [
        [{}, 'columns'],
        [{ columns: { user: 'nope', item: 'item' } }, 'columns.user'],
        [{ columns: { user: 'user', item: 'ts' } }, 'columns.item'],
        [{ columns: { user: 'user', item: 'item', rating: 'user' } }, 'columns.rating'],
        [{ columns: { user: 'user', item: 'item' }, target: 'item' }, 'target'],
        [{ columns: { user: 'user', item: 'item' }, hyperparameters: { hiddenUnits: [4] } }, 'hyperparameters.hiddenUnits'],
        [{ columns: { user: 'user', item: 'item' }, hyperparameters: { k: 0 } }, 'hyperparameters.k'],
        [{ columns: { user: 'user', item: 'item' }, promoteMetric: 'rocAuc' }, 'promoteMetric'],
      ];
      for (const [body, field] of cases) {
        const res = await post(body);
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
        assert.ok(
          (res.body.errors as Array<{ field: string }>).some((e) => e.field === field),
          `${JSON.stringify(body)} should name ${field}: ${res.text}`,
        );
      }
      // every user with a single interaction: nothing to hold out
      const single = await csvVersion(kiln, 'single', 'user,item\na,1\nb,2\nc,1\nd,3\n');
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: { datasetVersionId: single, modelName: 'bad-recs', template: 'recommender', columns: { user: 'user', item: 'item' } },
      });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.errors[0].field, 'columns.user');
      assert.match(res.body.errors[0].reason, /fewer than 2 interactions/);
      const jobs = await kiln.request('GET', '/api/training-jobs');
      assert.ok(!(jobs.body as Array<{ modelName: string }>).some((j) => j.modelName === 'bad-recs'), 'nothing was queued');
    });
  });
})();
