/**
 * The record API and the model runtime end to end, run per configuration (PostgreSQL with its queue
 * backend: record-api.e2e-spec; PostgreSQL + Redis: record-api.redis.e2e-spec): models
 * trained through the API on vega-datasets penguins, predictions in request order, 400s naming the
 * record, feature and reason, 404s, batching metrics, and a zero-downtime alias swap under load.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, httpRequest, skipUnless, startTestKiln, type TestKiln, type TestConfiguration } from '../utils/test-kiln';
import { spawnKiln } from '../utils/spawn-kiln';
import { penguinsRows } from '../ingestion/ingestion-helpers';
import * as ml from '../../src/ml';
import { penguinRecords, penguinsVersion, trainModel } from './inference-helpers';

export async function recordApiSuite(configuration: TestConfiguration): Promise<void> {
  const skip = await skipUnless(configuration);
  describe(`record API and model runtime on configuration "${configuration}"`, { skip }, () => {
    let kiln: TestKiln;
    const MODEL = 'penguins-serving';
    const records = penguinRecords(40, 100);

    before(async () => {
      kiln = await startTestKiln(configuration, { KILN_ROUTING_REFRESH_MS: '200' });
      const data = await penguinsVersion(kiln);
      const base = { datasetVersionId: data.id, modelName: MODEL, target: 'Species' };
      assert.equal(await trainModel(kiln, { ...base, promote: 'always' }), 1);
      // A second, different version (other seed and width): its outputs differ from version 1's.
      assert.equal(await trainModel(kiln, { ...base, hyperparameters: { seed: 11, hiddenUnits: [8], epochs: 4 } }), 2);
    });
    after(async () => {
      await kiln?.close();
    });

    const predict = (body: unknown, query = '', headers?: Record<string, string>) =>
      kiln.request('POST', `/api/models/${MODEL}/predict${query}`, { body, ...(headers ? { headers } : {}) });

    it('answers labelled predictions in request order from the production version', async () => {
      const res = await predict({ records });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.model, MODEL);
      assert.equal(res.body.version, 1);
      assert.equal(res.headers.get('x-request-id'), res.body.requestId);
      assert.equal(res.body.predictions.length, records.length);
      const classes = new Set(['Adelie', 'Chinstrap', 'Gentoo']);
      for (const p of res.body.predictions) {
        assert.ok(classes.has(p.label), p.label);
        const probs = Object.values(p.probabilities) as number[];
        assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4);
        assert.equal(p.score, p.probabilities[p.label]);
      }
      // One record at a time gives the same answers: order is kept and batching does not mix rows.
      const singles = await Promise.all(records.slice(0, 8).map((r) => predict({ records: [r] }, '?version=1')));
      singles.forEach((s, i) => assert.deepEqual(s.body.predictions[0], res.body.predictions[i]));
      // Trained well enough to be a real model: most penguins get their species right.
      const truth = penguinsRows()
        .slice(100, 140)
        .map((r) => r.Species);
      const right = res.body.predictions.filter((p: any, i: number) => p.label === truth[i]).length;
      assert.ok(right / truth.length > 0.8, `accuracy ${right}/${truth.length}`);
    });

    it('gives identical numbers on the record API, TF Serving v1 and OIP v2 for the same input', async () => {
      const v = (await kiln.request('GET', `/api/models/${MODEL}/versions/1`)).body;
      // The v1/v2 input of a Kiln-trained model is the preprocessed feature tensor the record API builds.
      const x = ml.Preprocessor.fromJSON(v.preprocessing).transform(records);
      const width = x.length / records.length;
      const rows = Array.from({ length: records.length }, (_, i) => Array.from(x.subarray(i * width, (i + 1) * width)));
      const classes: string[] = v.target.classes;
      const viaRecords = (await predict({ records }, '?version=1')).body.predictions.map((p: any) =>
        classes.map((c) => p.probabilities[c]),
      );
      const v1 = await kiln.request('POST', `/v1/models/${MODEL}/versions/1:predict`, { body: { instances: rows } });
      assert.equal(v1.status, 200, v1.text);
      const v2 = await kiln.request('POST', `/v2/models/${MODEL}/versions/1/infer`, {
        body: { inputs: [{ name: v.signature.inputs[0].name, shape: [records.length, width], datatype: 'FP32', data: rows }] },
      });
      assert.equal(v2.status, 200, v2.text);
      const flat: number[] = v2.body.outputs[0].data;
      const viaV2 = rows.map((_, i) => flat.slice(i * classes.length, (i + 1) * classes.length));
      // The same float32 values: /v1 and /v2 print them at float32 precision (0.999925), the record API
      // as float64 (0.9999250173568726); read back as float32 they must be identical.
      const asFloat32 = (m: number[][]) => m.map((r) => r.map((x) => Math.fround(x)));
      assert.deepEqual(asFloat32(v1.body.predictions), asFloat32(viaRecords));
      assert.deepEqual(asFloat32(viaV2), asFloat32(viaRecords));
    });

    it('names the record, the feature and the reason of bad input', async () => {
      const [first, second] = records;
      const { Island: _drop, ...missing } = first!;
      const bad = await predict({ records: [first, missing, { ...second, Wingspan: 3 }, { ...second, 'Body Mass (g)': 'heavy' }] });
      assert.equal(bad.status, 400, bad.text);
      assert.match(bad.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const fields = bad.body.errors.map((e: any) => e.field);
      assert.deepEqual(fields.sort(), ['records.1.Island', 'records.2.Wingspan', 'records.3.Body Mass (g)'].sort());
      for (const e of bad.body.errors) assert.ok(e.reason.length > 3, e.reason);
      assert.equal((await predict({ records: [] })).status, 400);
      assert.equal((await predict({ rows: records })).body.errors[0].field, 'rows');
      assert.equal((await predict({ records: 'x' })).body.errors[0].field, 'records');
      assert.equal((await predict({ records }, '?version=abc')).body.errors[0].field, 'version');
      assert.equal((await predict({ records }, '?version=1&alias=production')).status, 400);
    });

    it('answers 404 for an unknown model, version or alias, and serves explicit versions', async () => {
      const unknown = await kiln.request('POST', '/api/models/no-such-model/predict', { body: { records } });
      assert.equal(unknown.status, 404, unknown.text);
      assert.equal((await predict({ records }, '?version=9')).status, 404);
      const alias = await predict({ records }, '?alias=staging');
      assert.equal(alias.status, 404);
      assert.match(alias.body.detail, /staging/);
      const v2 = await predict({ records }, '?version=2');
      assert.equal(v2.status, 200, v2.text);
      assert.equal(v2.body.version, 2);
      const v1 = await predict({ records }, '?version=1');
      assert.notDeepEqual(v2.body.predictions, v1.body.predictions, 'the two versions differ');
    });

    it('requires a data-plane role', async () => {
      const anonymous = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records }, key: null });
      assert.equal(anonymous.status, 401);
      const auditor = await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } });
      assert.equal(auditor.status, 201, auditor.text);
      const denied = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records }, key: auditor.body.key });
      assert.equal(denied.status, 403);
      const predictor = await kiln.request('POST', '/api/keys', { body: { name: 'app', role: 'predictor' } });
      const ok = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records }, key: predictor.body.key });
      assert.equal(ok.status, 200, ok.text);
    });

    it(
      'moves an alias under load on two replicas with zero failures, ' + 'each response labelled with the version that computed it',
      async () => {
        // A second inference replica in its own process, on the same database, polling at the default interval.
        const { KILN_ROUTING_REFRESH_MS: _fast, ...env } = kiln.env;
        const replica = spawnKiln({ ...env, KILN_ROLES: 'inference' });
        try {
          const replicaUrl = await replica.url;
          const expected = new Map<number, string>();
          for (const v of [1, 2]) expected.set(v, JSON.stringify((await predict({ records }, `?version=${v}`)).body.predictions));
          let stop = false;
          const seen: Array<{ replica: number; version: number; at: number }> = [];
          const failures: string[] = [];
          const client = async (n: number) => {
            const onReplica = n % 2 === 1;
            while (!stop) {
              const r = onReplica
                ? await httpRequest(replicaUrl, kiln.adminKey, 'POST', `/api/models/${MODEL}/predict`, { body: { records } })
                : await predict({ records });
              if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
              else if (JSON.stringify(r.body.predictions) !== expected.get(r.body.version))
                failures.push(`version ${r.body.version} answered another version's numbers`);
              else seen.push({ replica: onReplica ? 1 : 0, version: r.body.version, at: Date.now() });
            }
          };
          const clients = Array.from({ length: 6 }, (_, n) => client(n));
          const lags: number[] = [];
          for (const target of [2, 1, 2, 1]) {
            await new Promise((r) => setTimeout(r, 300));
            const moved = await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: target } });
            assert.equal(moved.status, 200, moved.text);
            const at = Date.now();
            for (const rep of [0, 1]) {
              const first = await eventually(
                async () => seen.find((s) => s.replica === rep && s.at > at && s.version === target),
                5_000,
                20,
              );
              lags.push(first.at - at);
            }
          }
          stop = true;
          await Promise.all(clients);
          assert.deepEqual(failures, []);
          assert.ok(seen.filter((s) => s.replica === 1).length > 20, 'the replica served');
          assert.ok(Math.max(...lags) < 2_000, `alias moves reached the replicas after ${lags.join(', ')} ms`);
        } finally {
          replica.child.kill('SIGTERM');
          await replica.exited;
        }
      },
    );

    it('refuses archived versions', async () => {
      await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } });
      // Version 2 stops being referenced; once the replica has polled, it may be archived.
      const archived = await eventually(async () => {
        const r = await kiln.request('POST', `/api/models/${MODEL}/versions/2/archive`);
        return r.status === 200 ? r : undefined;
      });
      assert.equal(archived.body.status, 'archived');
      const res = await eventually(async () => {
        const r = await predict({ records }, '?version=2');
        return r.status === 404 ? r : undefined;
      }, 5_000);
      assert.match(res.body.detail, /archived/);
    });

    it('explains predictions of mlp and linear models: attributions sum to prediction minus baseline', async () => {
      const res = await predict({ records: records.slice(0, 10) }, '?explain=true&version=1');
      assert.equal(res.status, 200, res.text);
      for (const p of res.body.predictions) {
        const e = p.explanation;
        assert.equal(e.method, 'integrated-gradients');
        assert.equal(e.output, `probability:${p.label}`);
        assert.ok(Math.abs(e.prediction - p.probabilities[p.label]) < 1e-5, `${e.prediction} vs ${p.probabilities[p.label]}`);
        assert.deepEqual(Object.keys(e.attributions).sort(), Object.keys(records[0]!).sort());
        const sum = (Object.values(e.attributions) as number[]).reduce((a, b) => a + b, 0);
        assert.ok(
          Math.abs(sum - (e.prediction - e.baseline)) <= 1e-3 * Math.max(1, Math.abs(e.prediction - e.baseline)),
          `sum ${sum} vs ${e.prediction - e.baseline}`,
        );
      }
      // A linear regression of body mass on the other measurements.
      const data = await penguinsVersion(kiln);
      const features = ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Sex'];
      const v = await trainModel(kiln, {
        datasetVersionId: data.id,
        modelName: 'penguins-mass',
        target: 'Body Mass (g)',
        template: 'linear',
        features,
        hyperparameters: { epochs: 20, hiddenUnits: [] },
      });
      const massRecords = records.slice(0, 10).map((r) => Object.fromEntries(features.map((f) => [f, r[f]])));
      const lin = await kiln.request('POST', `/api/models/penguins-mass/predict?version=${v}&explain=true`, {
        body: { records: massRecords },
      });
      assert.equal(lin.status, 200, lin.text);
      for (const p of lin.body.predictions) {
        const e = p.explanation;
        assert.equal(e.output, 'value');
        assert.ok(Math.abs(e.prediction - p.value) < 1e-2, `${e.prediction} vs ${p.value}`);
        const sum = (Object.values(e.attributions) as number[]).reduce((a, b) => a + b, 0);
        assert.ok(
          Math.abs(sum - (e.prediction - e.baseline)) <= 1e-3 * Math.max(1, Math.abs(e.prediction - e.baseline)),
          `sum ${sum} vs ${e.prediction - e.baseline}`,
        );
      }
      const tooMany = await predict({ records: penguinRecords(101) }, '?explain=true');
      assert.equal(tooMany.status, 400);
      assert.equal(tooMany.body.errors[0].field, 'explain');
      assert.equal((await predict({ records }, '?explain=yes')).body.errors[0].field, 'explain');
    });

    it('exports batching and request metrics', async () => {
      const text = (await kiln.request('GET', '/metrics')).text;
      assert.match(text, new RegExp(`kiln_inference_batch_size_bucket\\{le="1",model="${MODEL}"\\}`));
      assert.match(
        text,
        new RegExp(`kiln_inference_requests_total\\{model="${MODEL}",version="1",protocol="record",outcome="ok"\\} [1-9]`),
      );
      assert.match(text, /kiln_inference_queue_seconds_count/);
      assert.match(text, /kiln_inference_loaded_models [1-9]/);
    });
  });
}
