/**
 * Drift of a recommender end to end on PostgreSQL: audited /recommend traffic against the training
 * data's popularity. Traffic that asks for the training users in proportion to their activity shows
 * no drift; traffic from a handful of users plus many users the model never saw is drift on the user
 * feature, with the unknown users' share, the items served beside it, and the report on the
 * monitoring endpoint like any other model's. Too few calls: a skipped report saying why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipUnless, startTestKiln, eventually, type TestKiln } from '../utils/test-kiln';
import { plantedInteractions } from '../support/planted-interactions';
import { csvVersion, interactionsCsv, trainRecommenderJob } from './recommend-helpers';

const WINDOW = 240;

void (async () => {
  const skip = await skipUnless('postgres');
  describe('recommendations: drift of user and item popularity', { skip }, () => {
    let kiln: TestKiln;
    const MODEL = 'planted-drift';
    const planted = plantedInteractions({ seed: 8, users: 120, items: 200 });
    let trainingVersionId: string;

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_DRIFT_WINDOW_ROWS: String(WINDOW) });
      trainingVersionId = await csvVersion(kiln, 'planted', interactionsCsv(planted.rows));
      await trainRecommenderJob(kiln, {
        datasetVersionId: trainingVersionId,
        modelName: MODEL,
        columns: { user: 'user', item: 'item', timestamp: 'ts' },
        hyperparameters: { epochs: 6, seed: 2 },
        promote: 'always',
      });
    });
    after(async () => {
      await kiln?.close();
    });

    async function checkNow(): Promise<any> {
      const res = await kiln.request('POST', `/api/models/${MODEL}/drift/check`, { headers: { prefer: 'wait=60' } });
      assert.equal(res.status, 200, res.text);
      const reports = await kiln.request('GET', `/api/models/${MODEL}/drift?limit=1`);
      assert.equal(reports.status, 200, reports.text);
      assert.equal(reports.body.latest.id, res.body.reportId);
      return reports.body.latest;
    }

    /** Sends the calls and waits until the audit log holds them all (records go through the audit queue). */
    async function traffic(users: string[]): Promise<void> {
      const ids: string[] = [];
      for (const user of users) {
        const res = await kiln.request('POST', `/api/models/${MODEL}/recommend`, { body: { user, k: 5 } });
        assert.equal(res.status, 200, res.text);
        ids.push(res.body.requestId);
      }
      await eventually(async () => {
        const res = await kiln.request('GET', `/api/audit/predictions?model=${MODEL}&limit=1000`);
        const logged = new Set((res.body.items as any[]).map((p) => p.requestId));
        return ids.every((id) => logged.has(id)) ? true : undefined;
      }, 60_000);
    }

    it('too few calls: a skipped report saying so', async () => {
      await traffic(['u1', 'u2']);
      const r = await checkNow();
      assert.equal(r.status, 'skipped');
      assert.match(r.reason, /too few logged \/recommend calls for version 1: 2 < 30/);
    });

    it('traffic in proportion to the training users: no drift', async () => {
      const users = Array.from({ length: WINDOW }, (_, n) => `u${n % 120}`);
      await traffic(users);
      const r = await checkNow();
      assert.equal(r.status, 'completed', JSON.stringify(r));
      assert.equal(r.referenceDatasetVersionId, trainingVersionId);
      assert.equal(r.rows, WINDOW);
      const [user] = r.report.features;
      assert.equal(user.feature, 'user');
      assert.equal(user.test, 'jensen_shannon');
      assert.equal(user.drifted, false, JSON.stringify(user));
      assert.equal(r.drift, false);
      assert.deepEqual(r.report.recommender, {
        requests: WINDOW,
        unknownUsers: 0,
        unknownUserShare: 0,
        itemsServed: WINDOW * 5,
        buckets: 20,
      });
      // the items served, compared with the training items' popularity, beside the verdict
      assert.equal(r.report.prediction.target, 'item');
      assert.equal(r.report.prediction.result.feature, 'item');
      assert.equal(r.report.prediction.result.currentCount, WINDOW * 5);
      assert.equal(r.report.histograms.user.kind, 'categorical');
      assert.equal(r.report.histograms.user.categories.length, 21, '20 most active users and other');
    });

    it('a handful of users and many unknown ones: drift, with the unknown share; shown on the monitoring endpoint', async () => {
      const users = Array.from({ length: WINDOW }, (_, n) => (n % 2 === 0 ? `new-${n}` : `u${(n >> 1) % 10}`));
      await traffic(users);
      const r = await checkNow();
      assert.equal(r.status, 'completed', JSON.stringify(r));
      const [user] = r.report.features;
      assert.equal(user.drifted, true, JSON.stringify(user));
      assert.ok(user.psi >= 0.25, `psi ${user.psi}`);
      assert.equal(r.drift, true);
      assert.equal(r.report.recommender.unknownUsers, WINDOW / 2);
      assert.equal(r.report.recommender.unknownUserShare, 0.5);
      // unknown users fall in the "other" bucket: half of the window there
      const h = r.report.histograms.user;
      assert.equal(h.current[h.categories.indexOf('__other__')] >= WINDOW / 2, true, JSON.stringify(h));
      const mon = await kiln.request('GET', `/api/models/${MODEL}/monitoring`);
      assert.equal(mon.status, 200, mon.text);
      assert.equal(mon.body.drift.id, r.id);
      assert.equal(mon.body.drift.drift, true);
    });
  });
})();
