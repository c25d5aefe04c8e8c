/**
 * TensorFlow Serving REST v1 and Open Inference Protocol v2 end to end on PostgreSQL: a layers
 * model saved by TF.js here and imported through the registry, plus penguin models (classifier and
 * regressor) trained through the training API, served under their `production` alias. Every route
 * of both protocols, every error row of protocols.md (404, 405 on /v2, 400 for shapes, element counts,
 * FP16, nesting depth; NaN tokens on /v1), and each /v2 answer checked against the OIP OpenAPI file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { oipSchemaErrors, type OipSchemaName } from '../support/inference/oip-schema';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { parseJsonWithNonFinite } from '../../src/inference/protocols/json-body';
import { eventually, skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';
import { servingReady } from './triton-test-client';
import { penguinRecords, penguinsVersion, trainModel } from './inference-helpers';
import { importLayersModel } from '../models/model-import-helpers';

const IMPORTED = 'proto-dense';
const CLASSIFIER = 'proto-penguins';
const REGRESSOR = 'proto-mass';
const SIGNATURE = {
  inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 2] }],
};

function denseModel(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(
    tfl.layers.dense({ units: 4, activation: 'relu', inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
  );
  m.add(tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

/** A `{"error": "..."}` body (never problem+json) with the expected status. */
function assertError(res: TestResponse, status: number, pattern?: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.deepEqual(Object.keys(res.body), ['error'], res.text);
  assert.equal(typeof res.body.error, 'string');
  if (pattern) assert.match(res.body.error, pattern);
}

function assertSchema(name: OipSchemaName, body: unknown): void {
  assert.deepEqual(oipSchemaErrors(name, body), [], `${name}: ${JSON.stringify(body).slice(0, 300)}`);
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('TF Serving v1 and OIP v2 on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let local: tfl.LayersModel;
    let predictorKey: string;
    let auditorKey: string;
    const rows = [
      [0.1, 0.2, 0.3],
      [1, -1, 0.5],
    ];
    let expected: number[][];

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres', { KILN_ROUTING_REFRESH_MS: '200' });
      local = denseModel();
      expected = (local.predict(tf.tensor2d(rows)) as tf.Tensor).arraySync() as number[][];
      await importLayersModel(kiln, IMPORTED, local, SIGNATURE);
      const alias = await kiln.request('PUT', `/api/models/${IMPORTED}/aliases/production`, { body: { version: 1 } });
      assert.equal(alias.status, 200, alias.text);
      const data = await penguinsVersion(kiln);
      assert.equal(
        await trainModel(kiln, {
          datasetVersionId: data.id,
          modelName: CLASSIFIER,
          target: 'Species',
          promote: 'always',
          hyperparameters: { epochs: 6 },
        }),
        1,
      );
      assert.equal(
        await trainModel(kiln, {
          datasetVersionId: data.id,
          modelName: REGRESSOR,
          target: 'Body Mass (g)',
          promote: 'always',
          features: ['Species', 'Flipper Length (mm)'],
          hyperparameters: { epochs: 4 },
        }),
        1,
      );
      predictorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'predictor', role: 'predictor' } })).body.key;
      auditorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } })).body.key;
      await servingReady(kiln);
    });
    after(async () => {
      await kiln?.close();
    });

    const closeTo = (got: number[][], want: number[][]) =>
      got.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - want[i]![j]!) < 1e-5, `[${i}][${j}] ${v} vs ${want[i]![j]}`)));

    describe('OIP v2', () => {
      it('server metadata and health (public)', async () => {
        const meta = await kiln.request('GET', '/v2', { key: null });
        assert.equal(meta.status, 200, meta.text);
        assertSchema('metadata_server_response', meta.body);
        assert.equal(meta.body.name, 'kiln');
        assert.deepEqual(meta.body.extensions, [
          'binary_tensor_data',
          'model_repository',
          'model_configuration',
          'statistics',
          'system_shared_memory',
          'trace',
        ]);
        const live = await kiln.request('GET', '/v2/health/live', { key: null });
        assert.deepEqual([live.status, live.body], [200, { live: true }]);
        const ready = await kiln.request('GET', '/v2/health/ready', { key: null });
        assert.deepEqual([ready.status, ready.body], [200, { ready: true }]);
      });

      it('model metadata with and without a version, -1 for the batch dimension', async () => {
        for (const path of [`/v2/models/${IMPORTED}`, `/v2/models/${IMPORTED}/versions/1`]) {
          const res = await kiln.request('GET', path, { key: predictorKey });
          assert.equal(res.status, 200, res.text);
          assertSchema('metadata_model_response', res.body);
          assert.deepEqual(res.body, {
            name: IMPORTED,
            versions: ['1'],
            platform: 'tensorflowjs_layers',
            inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 3] }],
            outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
          });
        }
        const trained = await kiln.request('GET', `/v2/models/${CLASSIFIER}`);
        assert.equal(trained.status, 200, trained.text);
        assertSchema('metadata_model_response', trained.body);
        assert.equal(trained.body.inputs[0].shape[0], -1);
      });

      it('model ready with and without a version', async () => {
        for (const path of [`/v2/models/${IMPORTED}/ready`, `/v2/models/${IMPORTED}/versions/1/ready`]) {
          const res = await kiln.request('GET', path, { key: predictorKey });
          assert.deepEqual([res.status, res.body], [200, { name: IMPORTED, ready: true }], res.text);
        }
      });

      it('infers with nested or flat data, echoes the id, applies the outputs filter; answers match TF.js', async () => {
        const nested = await kiln.request('POST', `/v2/models/${IMPORTED}/infer`, {
          key: predictorKey,
          body: { id: 'req-42', inputs: [{ name: 'features', shape: [2, 3], datatype: 'FP32', data: rows }] },
        });
        assert.equal(nested.status, 200, nested.text);
        assertSchema('inference_response', nested.body);
        assert.equal(nested.body.model_name, IMPORTED);
        assert.equal(nested.body.model_version, '1');
        assert.equal(nested.body.id, 'req-42');
        assert.equal(nested.body.outputs.length, 1);
        const out = nested.body.outputs[0];
        assert.deepEqual([out.name, out.datatype, out.shape], ['probabilities', 'FP32', [2, 2]]);
        closeTo([out.data.slice(0, 2), out.data.slice(2)], expected);

        const flat = await kiln.request('POST', `/v2/models/${IMPORTED}/versions/1/infer`, {
          body: {
            inputs: [{ name: 'features', shape: [2, 3], datatype: 'FP64', data: rows.flat() }],
            outputs: [{ name: 'probabilities' }],
          },
        });
        assert.equal(flat.status, 200, flat.text);
        assertSchema('inference_response', flat.body);
        assert.equal('id' in flat.body, false, 'no id when none was sent');
        assert.deepEqual(flat.body.outputs[0].data, out.data);

        const unknownOutput = await kiln.request('POST', `/v2/models/${IMPORTED}/infer`, {
          body: { inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }], outputs: [{ name: 'logits' }] },
        });
        assertError(unknownOutput, 400, /outputs\[0\]\.name: 'logits' is not an output/);
      });

      it('400 for bad shapes, element counts, FP16, BYTES, deep nesting and malformed JSON, as {"error"}', async () => {
        const infer = (body: unknown) => kiln.request('POST', `/v2/models/${IMPORTED}/infer`, { body });
        const input = (over: object) => ({ inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3], ...over }] });
        assertError(await infer(input({ data: [1, 2] })), 400, /inputs\[0\]\.data: 2 elements for shape \[1, 3\], which needs 3/);
        assertError(await infer(input({ shape: [1, 4], data: [1, 2, 3, 4] })), 400, /features.*dimension 1 is 4/);
        assertError(await infer(input({ shape: [3], data: [1, 2, 3] })), 400, /features.*rank 1/);
        assertError(await infer(input({ shape: [1, -3] })), 400, /inputs\[0\]\.shape/);
        assertError(await infer(input({ datatype: 'FP16' })), 400, /FP16 cannot be sent as JSON/);
        assertError(await infer(input({ datatype: 'BF16' })), 400, /BF16/);
        assertError(await infer(input({ datatype: 'BYTES', data: ['a', 'b', 'c'] })), 400, /BYTES needs a string tensor; input 'features'/);
        assertError(await infer(input({ name: 'pixels' })), 400, /input 'pixels' is not an input/);
        assertError(await infer({ inputs: [] }), 400, /^inputs:/);
        assertError(
          await infer(`{"inputs": ${'['.repeat(101)}${']'.repeat(101)}}`),
          400,
          /JSON nesting depth exceeds maximum allowed limit \(100\)/,
        );
        assertError(await infer('{"inputs": [NaN]}'), 400, /^inputs\[0\]: must be an object/);
        assertError(await infer('{"inputs": [NaNa]}'), 400, /^body: not valid JSON/);
        assertError(await infer('{"inputs": '), 400, /^body: not valid JSON/);
      });

      it('404 for an unknown model or version, 405 for a wrong method (with Allow)', async () => {
        assertError(await kiln.request('GET', '/v2/models/no-such-model'), 404);
        assertError(await kiln.request('GET', `/v2/models/${IMPORTED}/versions/9`), 404);
        assertError(await kiln.request('GET', `/v2/models/${IMPORTED}/versions/latest/ready`), 404);
        assertError(await kiln.request('POST', '/v2/models/no-such-model/infer', { body: { inputs: [] } }), 404);
        const get = await kiln.request('GET', `/v2/models/${IMPORTED}/infer`);
        assertError(get, 405, /GET is not allowed.*use POST/);
        assert.equal(get.headers.get('allow'), 'POST');
        const put = await kiln.request('PUT', `/v2/models/${IMPORTED}`, { body: {} });
        assertError(put, 405);
        assert.match(put.headers.get('allow') ?? '', /GET/);
        assertError(await kiln.request('POST', '/v2/health/ready', { key: null }), 405);
      });

      it('auth: health and server metadata are public; data plane needs predictor, developer or admin', async () => {
        assertError(await kiln.request('GET', `/v2/models/${IMPORTED}`, { key: null }), 401);
        const body = { inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] };
        assertError(await kiln.request('POST', `/v2/models/${IMPORTED}/infer`, { key: null, body }), 401);
        assertError(await kiln.request('POST', `/v2/models/${IMPORTED}/infer`, { key: auditorKey, body }), 403);
        assert.equal((await kiln.request('POST', `/v2/models/${IMPORTED}/infer`, { key: predictorKey, body })).status, 200);
      });
    });

    describe('TF Serving v1', () => {
      it('model status by name, version and label', async () => {
        for (const path of [`/v1/models/${IMPORTED}`, `/v1/models/${IMPORTED}/versions/1`, `/v1/models/${IMPORTED}/labels/production`]) {
          const res = await kiln.request('GET', path, { key: predictorKey });
          assert.equal(res.status, 200, res.text);
          // by name alone, KServe V1's model readiness comes first (kserve-v1.e2e-spec.ts)
          const readiness = path === `/v1/models/${IMPORTED}` ? { name: IMPORTED, ready: true } : {};
          assert.deepEqual(res.body, {
            ...readiness,
            model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
          });
        }
      });

      it('model metadata in GetModelMetadata shape', async () => {
        const res = await kiln.request('GET', `/v1/models/${IMPORTED}/labels/production/metadata`);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body.model_spec, { name: IMPORTED, signature_name: '', version: '1' });
        const sig = res.body.metadata.signature_def.signature_def.serving_default;
        assert.equal(sig.method_name, 'tensorflow/serving/predict');
        assert.deepEqual(
          sig.inputs.features.tensor_shape.dim.map((d: any) => d.size),
          ['-1', '3'],
        );
        assert.equal(sig.inputs.features.dtype, 'DT_FLOAT');
        assert.equal(sig.outputs.probabilities.dtype, 'DT_FLOAT');
      });

      it('predicts in row form and columnar form, the single output unnamed; answers match TF.js', async () => {
        const row = await kiln.request('POST', `/v1/models/${IMPORTED}:predict`, {
          key: predictorKey,
          body: { signature_name: 'serving_default', instances: rows },
        });
        assert.equal(row.status, 200, row.text);
        assert.deepEqual(Object.keys(row.body), ['predictions']);
        closeTo(row.body.predictions, expected);
        const named = await kiln.request('POST', `/v1/models/${IMPORTED}/versions/1:predict`, {
          body: { instances: rows.map((r) => ({ features: r })) },
        });
        assert.deepEqual(named.body, row.body, named.text);
        const col = await kiln.request('POST', `/v1/models/${IMPORTED}/labels/production:predict`, { body: { inputs: rows } });
        assert.equal(col.status, 200, col.text);
        assert.deepEqual(col.body, { outputs: row.body.predictions });
        const colNamed = await kiln.request('POST', `/v1/models/${IMPORTED}:predict`, { body: { inputs: { features: rows } } });
        assert.deepEqual(colNamed.body, col.body, colNamed.text);
        // as Swagger UI sends it: the selector and verb percent-encoded
        const encoded = await kiln.request('POST', `/v1/models/${IMPORTED}%2Flabels%2Fproduction%3Apredict`, { body: { instances: rows } });
        assert.deepEqual(encoded.body, row.body, encoded.text);
      });

      it("reads JSON sent as form data, as `curl -d` in TF Serving's documentation does", async () => {
        const res = await kiln.request('POST', `/v1/models/${IMPORTED}:predict`, {
          body: JSON.stringify({ instances: rows }),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.equal(res.status, 200, res.text);
        closeTo(res.body.predictions, expected);
      });

      it('accepts the NaN, Infinity and -Infinity tokens as numbers', async () => {
        const res = await kiln.request('POST', `/v1/models/${IMPORTED}:predict`, {
          body: '{"instances": [[NaN, 0.5, 1], [Infinity, -Infinity, 0], [0.1, 0.2, 0.3]]}',
        });
        assert.equal(res.status, 200, res.text);
        const body = parseJsonWithNonFinite(res.text) as { predictions: number[][] };
        assert.equal(body.predictions.length, 3);
        closeTo([body.predictions[2]!], [expected[0]!]);
      });

      it('400 for bad bodies, as {"error"}', async () => {
        const predict = (body: unknown) => kiln.request('POST', `/v1/models/${IMPORTED}:predict`, { body });
        assertError(await predict({ instances: rows, inputs: rows }), 400, /exactly one of "instances" \(row form\) or "inputs"/);
        assertError(await predict({}), 400, /exactly one of/);
        assertError(
          await predict({ signature_name: 'other', instances: rows }),
          400,
          /^Serving signature name: "other" not found in signature def$/,
        );
        assertError(
          await predict({
            instances: [
              [1, 2, 3],
              [1, 2],
            ],
          }),
          400,
          /instances\[1\]: shape \[2\] differs/,
        );
        assertError(await predict({ instances: [[1, 2, 3, 4]] }), 400, /features.*dimension 1 is 4/);
        assertError(await predict({ instances: [{ b64: 'AAAA' }] }), 400, /b64/);
        assertError(await predict({ instances: [[1, 'x', 3]] }), 400, /instances\[0\]\[1\]: the string "x"/);
        assertError(
          await predict(`{"instances": ${'['.repeat(101)}${']'.repeat(101)}}`),
          400,
          /JSON nesting depth exceeds maximum allowed limit \(100\)/,
        );
      });

      it('classify and regress on Kiln-trained models (examples of named features)', async () => {
        const examples = penguinRecords(5, 10);
        const classify = await kiln.request('POST', `/v1/models/${CLASSIFIER}:classify`, { key: predictorKey, body: { examples } });
        assert.equal(classify.status, 200, classify.text);
        assert.equal(classify.body.results.length, 5);
        for (const pairs of classify.body.results) {
          assert.deepEqual(pairs.map((p: [string, number]) => p[0]).sort(), ['Adelie', 'Chinstrap', 'Gentoo']);
          assert.ok(Math.abs(pairs.reduce((s: number, p: [string, number]) => s + p[1], 0) - 1) < 1e-4);
        }
        const { Island, ...rest } = examples[0]!;
        const withContext = await kiln.request('POST', `/v1/models/${CLASSIFIER}/labels/production:classify`, {
          body: { context: { Island }, examples: [rest] },
        });
        assert.equal(withContext.status, 200, withContext.text);
        assert.deepEqual(withContext.body.results[0], classify.body.results[0]);

        const regress = await kiln.request('POST', `/v1/models/${REGRESSOR}:regress`, {
          body: {
            examples: [
              { Species: 'Gentoo', 'Flipper Length (mm)': 220 },
              { Species: 'Adelie', 'Flipper Length (mm)': [185] },
            ],
          },
        });
        assert.equal(regress.status, 200, regress.text);
        assert.equal(regress.body.results.length, 2);
        assert.ok(
          regress.body.results.every((v: unknown) => typeof v === 'number' && Number.isFinite(v)),
          regress.text,
        );

        assertError(
          await kiln.request('POST', `/v1/models/${CLASSIFIER}:regress`, { body: { examples } }),
          400,
          /multiclass model; use :classify/,
        );
        assertError(
          await kiln.request('POST', `/v1/models/${REGRESSOR}:classify`, { body: { examples } }),
          400,
          /regression model; use :regress/,
        );
        assertError(
          await kiln.request('POST', `/v1/models/${IMPORTED}:classify`, { body: { examples } }),
          400,
          // an imported model's default signature predicts (TF Serving's message for the wrong method)
          /^Expected classification signature method_name to be tensorflow\/serving\/classify\. Was: tensorflow\/serving\/predict$/,
        );
        assertError(
          await kiln.request('POST', `/v1/models/${CLASSIFIER}:classify`, { body: { examples: [{ ...examples[0], Wingspan: 3 }] } }),
          400,
          /examples\[0\]/,
        );
      });

      it("404 for an unknown model or version; TF Serving's 400s for an unknown label and malformed URLs", async () => {
        assertError(await kiln.request('GET', '/v1/models/no-such-model'), 404);
        assertError(await kiln.request('GET', `/v1/models/${IMPORTED}/versions/7`), 404);
        assertError(
          await kiln.request('POST', `/v1/models/${IMPORTED}/labels/staging:predict`, { body: { instances: rows } }),
          400,
          /^Unrecognized servable version label: staging$/,
        );
        assertError(await kiln.request('POST', '/v1/models/no-such-model/labels/staging:predict', { body: { instances: rows } }), 404);
        assertError(await kiln.request('POST', '/v1/models/no-such-model:predict', { body: { instances: rows } }), 404);
        assertError(await kiln.request('POST', `/v1/models/${IMPORTED}:explains`, { body: {} }), 400, /^Malformed request: POST/);
        assertError(
          await kiln.request('GET', `/v1/models/${IMPORTED}:predict`),
          400,
          /^Malformed request: GET \/v1\/models\/proto-dense:predict$/,
        );
        assertError(await kiln.request('POST', `/v1/models/${IMPORTED}/metadata`, { body: {} }), 400, /^Malformed request: POST/);
        assertError(await kiln.request('DELETE', `/v1/models/${IMPORTED}`), 400, /^Malformed request: DELETE/);
      });

      it('auth: needs predictor, developer or admin', async () => {
        assertError(await kiln.request('POST', `/v1/models/${IMPORTED}:predict`, { key: null, body: { instances: rows } }), 401);
        assertError(await kiln.request('GET', `/v1/models/${IMPORTED}`, { key: auditorKey }), 403);
      });
    });

    it('a deployed version that cannot load: /v2/health/ready 503 {"error"}, /v1 status never AVAILABLE', async () => {
      // A model whose weights vanish from the artifact store after import; `production` then points at it.
      const broken = tfl.sequential();
      broken.add(
        tfl.layers.dense({
          units: 2,
          activation: 'softmax',
          inputShape: [3],
          kernelInitializer: tfl.initializers.glorotUniform({ seed: 99 }),
        }),
      );
      const weights = await importLayersModel(kiln, 'proto-broken', broken, SIGNATURE);
      const sha = createHash('sha256').update(weights).digest('hex');
      await rm(join(kiln.dataDir, 'artifacts', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha));
      const alias = await kiln.request('PUT', '/api/models/proto-broken/aliases/production', { body: { version: 1 } });
      assert.equal(alias.status, 200, alias.text);
      const notReady = await eventually(async () => {
        const r = await kiln.request('GET', '/v2/health/ready', { key: null });
        return r.status === 503 ? r : undefined;
      });
      assertError(notReady, 503);
      const status = await kiln.request('GET', '/v1/models/proto-broken');
      assert.equal(status.status, 200, status.text);
      // Never reported as AVAILABLE; when listed, with its load error.
      for (const v of status.body.model_version_status) {
        assert.notEqual(v.state, 'AVAILABLE', status.text);
        assert.equal(v.status.error_code, 'UNKNOWN', status.text);
        assert.ok(v.status.error_message.length > 0, status.text);
      }
    });

    it('the protocol routes are listed in /docs-json', async () => {
      const doc = await kiln.request('GET', '/docs-json', { key: null });
      assert.equal(doc.status, 200);
      const paths = Object.keys(doc.body.paths);
      for (const p of [
        '/v2',
        '/v2/health/ready',
        '/v2/models/{name}/infer',
        '/v2/models/{name}/versions/{version}/infer',
        '/v1/models/{path}',
      ]) {
        assert.ok(
          paths.some((x) => x === p || x.startsWith(p)),
          `${p} not in ${paths.filter((x) => x.startsWith('/v')).join(', ')}`,
        );
      }
    });
  });
}

void main();
