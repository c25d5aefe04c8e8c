/**
 * Deployments on the record API, per configuration (PostgreSQL; PostgreSQL + Redis): weighted canary routing (observed split over 2000
 * requests, sticky per x-request-id) and a shadow version that sees a copy of live traffic whose
 * answers are recorded for comparison and never returned.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, skipUnless, startTestKiln, type TestKiln, type TestConfiguration } from '../utils/test-kiln';
import { penguinRecords, penguinsVersion, trainModel } from './inference-helpers';

export async function canaryShadowSuite(configuration: TestConfiguration): Promise<void> {
  const skip = await skipUnless(configuration);
  describe(`canary and shadow deployments on configuration "${configuration}"`, { skip }, () => {
    let kiln: TestKiln;
    const MODEL = 'penguins-canary';
    const records = penguinRecords(60, 200);
    /** version → JSON of its predictions for each record, one record per request. */
    const expected = new Map<number, string[]>();

    before(async () => {
      kiln = await startTestKiln(configuration, { KILN_ROUTING_REFRESH_MS: '200' });
      const data = await penguinsVersion(kiln);
      const base = { datasetVersionId: data.id, modelName: MODEL, target: 'Species' };
      await trainModel(kiln, { ...base, promote: 'always' });
      await trainModel(kiln, { ...base, hyperparameters: { seed: 21, hiddenUnits: [8], epochs: 3 } });
      await trainModel(kiln, { ...base, hyperparameters: { seed: 33, hiddenUnits: [4], epochs: 2 } });
      for (const v of [1, 2, 3]) {
        const r = await kiln.request('POST', `/api/models/${MODEL}/predict?version=${v}`, { body: { records } });
        assert.equal(r.status, 200, r.text);
        expected.set(
          v,
          r.body.predictions.map((p: unknown) => JSON.stringify(p)),
        );
      }
      assert.notDeepEqual(expected.get(1), expected.get(2));
    });
    after(async () => {
      await kiln?.close();
    });

    const predictOne = (i: number, requestId?: string) =>
      kiln.request('POST', `/api/models/${MODEL}/predict`, {
        body: { records: [records[i % records.length]] },
        ...(requestId ? { headers: { 'x-request-id': requestId } } : {}),
      });

    it('splits traffic by weight within ±5% over 2000 requests, sticky per request id, with a shadow that never answers', async () => {
      const put = await kiln.request('PUT', `/api/models/${MODEL}/deployment`, {
        body: {
          routes: [
            { alias: 'production', weight: 80 },
            { version: 2, weight: 20 },
          ],
          shadow: 3,
        },
      });
      assert.equal(put.status, 200, put.text);
      // The replica polls the registry; wait until the deployment is live.
      await eventually(async () => {
        for (let i = 0; i < 30; i++) if ((await predictOne(i)).body.version === 2) return true;
        return undefined;
      }, 5_000);

      const N = 2000;
      const counts = new Map<number, number>();
      const wrong: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < N) {
          const i = next++;
          const r = await predictOne(i, `canary-${i}`);
          assert.equal(r.status, 200, r.text);
          counts.set(r.body.version, (counts.get(r.body.version) ?? 0) + 1);
          if (JSON.stringify(r.body.predictions[0]) !== expected.get(r.body.version)![i % records.length])
            wrong.push(`request ${i} (version ${r.body.version})`);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      assert.deepEqual(wrong, [], "every answer is the labelled version's own");
      assert.equal(counts.get(3) ?? 0, 0, 'the shadow never answers');
      const canaryShare = (counts.get(2) ?? 0) / N;
      assert.ok(Math.abs(canaryShare - 0.2) <= 0.05, `canary share ${canaryShare}`);

      // Sticky: the same request id always lands on the same version.
      for (const id of ['sticky-7', 'sticky-1234', 'user-42']) {
        const versions = new Set<number>();
        for (let k = 0; k < 10; k++) versions.add((await predictOne(k, id)).body.version);
        assert.equal(versions.size, 1, `${id} went to ${[...versions].join(', ')}`);
      }

      // The shadow saw copies of live requests; its recorded answers are version 3's own.
      const shadow = await eventually(async () => {
        const r = await kiln.request('GET', `/api/models/${MODEL}/shadow`);
        return r.body.calls >= 100 ? r.body : undefined;
      });
      assert.equal(shadow.errors, 0);
      const sample = shadow.recent.find((c: any) => /^canary-\d+$/.test(c.clientRequestId));
      assert.ok(sample, 'a recorded shadow call of this test');
      const i = Number(sample.clientRequestId.slice('canary-'.length));
      assert.equal(sample.shadowVersion, 3);
      assert.ok([1, 2].includes(sample.liveVersion));
      const v3 = JSON.parse(expected.get(3)![i % records.length]!);
      const live = JSON.parse(expected.get(sample.liveVersion)![i % records.length]!);
      assert.deepEqual(sample.shadow, [v3.label]);
      assert.deepEqual(sample.live, [live.label]);
      assert.equal(sample.agreement, v3.label === live.label ? 1 : 0);
      const metrics = (await kiln.request('GET', '/metrics')).text;
      assert.match(metrics, new RegExp(`kiln_inference_shadow_total\\{model="${MODEL}",outcome="(agree|differ)"\\} [1-9]`));
    });

    it('explicit versions and aliases bypass the deployment; deleting it sends everything to production', async () => {
      for (let k = 0; k < 20; k++) {
        const r = await kiln.request('POST', `/api/models/${MODEL}/predict?alias=production`, { body: { records: [records[k]] } });
        assert.equal(r.body.version, 1);
      }
      const del = await kiln.request('DELETE', `/api/models/${MODEL}/deployment`);
      assert.ok([200, 204].includes(del.status), del.text);
      await eventually(async () => {
        const versions = new Set<number>();
        for (let k = 0; k < 40; k++) versions.add((await predictOne(k, `after-${k}`)).body.version);
        return versions.size === 1 && versions.has(1) ? true : undefined;
      }, 5_000);
    });
  });
}
