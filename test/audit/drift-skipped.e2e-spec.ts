/**
 * A drift check that is skipped (model not served, no training profile) stores a report with status
 * `skipped` and its reason: the reports list and the latest report show it, not only the server log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { handWrittenGraphModel } from '../support/tfjs/graph-model-fixture';
import { importGraphVersion } from '../models/model-import-helpers';
import { skipUnless, startTestKiln, type TestConfiguration, type TestKiln } from '../utils/test-kiln';

async function suite(configuration: TestConfiguration): Promise<void> {
  const skip = await skipUnless(configuration);
  describe(`skipped drift checks are reported (${configuration})`, { skip }, () => {
    let kiln: TestKiln;
    const MODEL = 'drift-skipped';

    before(async () => {
      kiln = await startTestKiln(configuration);
      await importGraphVersion(kiln, MODEL, handWrittenGraphModel(), {
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
      });
    });

    after(async () => {
      await kiln?.close();
    });

    const check = async () => {
      const res = await kiln.request('POST', `/api/models/${MODEL}/drift/check`, { headers: { prefer: 'wait=60' } });
      assert.equal(res.status, 200, res.text);
      return res.body;
    };

    it('a check of a model that is not served stores a skipped report with the reason', async () => {
      const outcome = await check();
      assert.match(outcome.skipped, /not served/);
      assert.equal(typeof outcome.reportId, 'string', JSON.stringify(outcome));
      assert.deepEqual([outcome.report?.status, outcome.report?.id], ['skipped', outcome.reportId]);
      const res = await kiln.request('GET', `/api/models/${MODEL}/drift`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.latest.status, 'skipped');
      assert.match(res.body.latest.reason, /not served/);
      assert.equal(res.body.latest.modelVersion, null);
      assert.equal(res.body.latest.drift, null);
      assert.equal(res.body.history.length, 1);
    });

    it('a check of an imported version (no training profile) is skipped with its version and reason, newest first', async () => {
      assert.equal((await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } })).status, 200);
      const outcome = await check();
      assert.match(outcome.skipped, /version 1 was imported/);
      const res = await kiln.request('GET', `/api/models/${MODEL}/drift`);
      assert.deepEqual([res.body.latest.id, res.body.latest.status, res.body.latest.modelVersion], [outcome.reportId, 'skipped', 1]);
      assert.match(res.body.latest.reason, /no training dataset profile/);
      assert.deepEqual(
        res.body.history.map((r: { status: string }) => r.status),
        ['skipped', 'skipped'],
      );
      // a skipped report sets no drift gauge
      const metrics = await kiln.request('GET', '/metrics', { key: null });
      assert.equal(new RegExp(`kiln_drift_detected\\{model="${MODEL}"`).test(metrics.text), false);
    });
  });
}

void (async () => {
  await suite('embedded');
  await suite('postgres');
})();
