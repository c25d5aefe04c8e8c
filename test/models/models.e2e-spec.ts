/**
 * Model registry end to end on the machine's PostgreSQL (PostgreSQL queue backend): import of TF.js
 * layers and graph models produced here by TF.js's own save API (plus corrupt uploads and signature
 * mismatches), archiving, and promotion of trained versions (`promote: always | if-better`) on a
 * public table (vega-datasets penguins) uploaded through the ingestion API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadGraphModelFromBytes } from '../../src/platform/tfjs/artifact-io';
import { handWrittenGraphModel } from '../support/tfjs/graph-model-fixture';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { eventually, skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';
import { createDataset, readyVersion, vegaFile } from '../ingestion/ingestion-helpers';
import { savedByTfjsApi } from './model-import-helpers';

interface Upload {
  modelJson: object | string;
  shards: Array<{ name: string; bytes: Buffer }>;
  signature?: object | string;
}

async function importModel(kiln: TestKiln, name: string, u: Upload): Promise<TestResponse> {
  const form = new FormData();
  if (u.signature !== undefined) form.append('signature', typeof u.signature === 'string' ? u.signature : JSON.stringify(u.signature));
  form.append('model', new Blob([typeof u.modelJson === 'string' ? u.modelJson : JSON.stringify(u.modelJson)]), 'model.json');
  for (const s of u.shards) form.append('weights', new Blob([s.bytes]), s.name);
  return kiln.request('POST', `/api/models/${name}/versions`, { body: form });
}

/** What TF.js's own save API hands a handler, written out as model.json + `shardCount` shard files. */
async function savedByTfjs(
  model: { save(h: tf.io.IOHandler): Promise<tf.io.SaveResult> },
  prefix: string,
  shardCount = 1,
): Promise<Upload> {
  const { artifacts: a, weights: data } = await savedByTfjsApi(model);
  const cut = Math.ceil(data.length / shardCount / 4) * 4;
  const shards = Array.from({ length: shardCount }, (_, i) => ({
    name: `${prefix}-shard${i + 1}of${shardCount}.bin`,
    bytes: data.subarray(i * cut, Math.min(data.length, (i + 1) * cut)),
  }));
  return {
    modelJson: {
      modelTopology: a.modelTopology,
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy ?? null,
      weightsManifest: [{ paths: shards.map((s) => s.name), weights: a.weightSpecs }],
    },
    shards,
  };
}

function layersModel(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(
    tfl.layers.dense({ units: 4, activation: 'relu', inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
  );
  m.add(tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

const LAYERS_SIGNATURE = {
  inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 2] }],
};
const GRAPH_SIGNATURE = {
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
};

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('model registry: import, archive, promotion on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let dataset: any;
    let layers: Upload;
    let graph: Upload;

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres');
      const datasetId = await createDataset(kiln, 'penguins');
      dataset = await readyVersion(kiln, datasetId, vegaFile('penguins.json'), { fileName: 'penguins.json' });
      layers = await savedByTfjs(layersModel(), 'layers', 2);
      const g = await loadGraphModelFromBytes(handWrittenGraphModel());
      graph = await savedByTfjs(g, 'graph');
      g.dispose();
    });
    after(async () => {
      await kiln?.close();
    });

    it('imports a layers model (two shards) and a graph model saved by TF.js, with source "imported"', async () => {
      const l = await importModel(kiln, 'imported', { ...layers, signature: LAYERS_SIGNATURE });
      assert.equal(l.status, 201, l.text);
      assert.equal(l.body.version, 1);
      assert.equal(l.body.source, 'imported');
      assert.equal(l.body.format, 'layers-model');
      assert.equal(l.body.status, 'active');
      assert.deepEqual(l.body.signature, LAYERS_SIGNATURE);
      assert.deepEqual(l.body.lineage.imported.files, ['layers-shard1of2.bin', 'layers-shard2of2.bin']);
      const g = await importModel(kiln, 'imported-graph', { ...graph, signature: GRAPH_SIGNATURE });
      assert.equal(g.status, 201, g.text);
      assert.equal(g.body.format, 'graph-model');
      assert.equal(g.body.version, 1);
      const read = await kiln.request('GET', '/api/models/imported-graph/versions/1');
      assert.equal(read.status, 200);
      assert.equal(read.body.source, 'imported');
      assert.deepEqual(read.body.signature, GRAPH_SIGNATURE);
      // version numbers continue per model
      const l2 = await importModel(kiln, 'imported', { ...layers, signature: LAYERS_SIGNATURE });
      assert.equal(l2.status, 201, l2.text);
      assert.equal(l2.body.version, 2);
    });

    it('refuses corrupt uploads with 400 naming the problem, storing nothing', async () => {
      const notJson = await importModel(kiln, 'broken', {
        modelJson: '{"modelTopology": ',
        shards: layers.shards,
        signature: LAYERS_SIGNATURE,
      });
      assert.equal(notJson.status, 400, notJson.text);
      assert.match(notJson.text, /model\.json is not valid JSON/);
      const truncated = await importModel(kiln, 'broken', {
        ...layers,
        shards: [layers.shards[0], { ...layers.shards[1], bytes: layers.shards[1].bytes.subarray(0, 8) }],
        signature: LAYERS_SIGNATURE,
      });
      assert.equal(truncated.status, 400, truncated.text);
      assert.match(truncated.text, /weightsManifest describes/);
      const missingShard = await importModel(kiln, 'broken', { ...layers, shards: [layers.shards[0]], signature: LAYERS_SIGNATURE });
      assert.equal(missingShard.status, 400, missingShard.text);
      assert.match(missingShard.text, /layers-shard2of2\.bin/);
      const garbageTopology = await importModel(kiln, 'broken', {
        ...layers,
        modelJson: { ...(layers.modelJson as object), modelTopology: { class_name: 'NoSuchModel', config: {} } },
        signature: LAYERS_SIGNATURE,
      });
      assert.equal(garbageTopology.status, 400, garbageTopology.text);
      assert.match(garbageTopology.text, /cannot load the layers-model/);
      const noSignature = await importModel(kiln, 'broken', { ...layers });
      assert.equal(noSignature.status, 400, noSignature.text);
      assert.equal(noSignature.body.errors[0].field, 'signature');
      const missing = await kiln.request('GET', '/api/models/broken');
      assert.equal(missing.status, 404, 'no model created by a refused import');
    });

    it('refuses a signature that does not match the model (400 naming the field)', async () => {
      const input = await importModel(kiln, 'mismatch', {
        ...layers,
        signature: { ...LAYERS_SIGNATURE, inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 4] }] },
      });
      assert.equal(input.status, 400, input.text);
      assert.equal(input.body.errors[0].field, 'signature.inputs.0.shape');
      assert.match(input.body.errors[0].reason, /\[-1, 3\]/);
      const output = await importModel(kiln, 'mismatch', {
        ...layers,
        signature: { ...LAYERS_SIGNATURE, outputs: [{ name: 'p', dtype: 'float32', shape: [-1, 3] }] },
      });
      assert.equal(output.status, 400, output.text);
      assert.equal(output.body.errors[0].field, 'signature.outputs.0.shape');
      const graphName = await importModel(kiln, 'mismatch', {
        ...graph,
        signature: { ...GRAPH_SIGNATURE, inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 3] }] },
      });
      assert.equal(graphName.status, 400, graphName.text);
      assert.equal(graphName.body.errors[0].field, 'signature.inputs.0.name');
      const dtype = await importModel(kiln, 'mismatch', {
        ...graph,
        signature: { ...GRAPH_SIGNATURE, inputs: [{ name: 'x', dtype: 'int32', shape: [-1, 3] }] },
      });
      assert.equal(dtype.status, 400, dtype.text);
      assert.equal(dtype.body.errors[0].field, 'signature.inputs.0.dtype');
      const badShape = await importModel(kiln, 'mismatch', {
        ...graph,
        signature: { ...GRAPH_SIGNATURE, outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 0] }] },
      });
      assert.equal(badShape.status, 400, badShape.text);
      assert.equal(badShape.body.errors[0].field, 'signature.outputs.0.shape.1');
    });

    it('archives a version: 409 behind an alias, ok once the alias moves, idempotent, no alias afterwards', async () => {
      const set = await kiln.request('PUT', '/api/models/imported/aliases/production', { body: { version: 1 } });
      assert.equal(set.status, 200, set.text);
      const blocked = await kiln.request('POST', '/api/models/imported/versions/1/archive');
      assert.equal(blocked.status, 409, blocked.text);
      assert.match(blocked.text, /production/);
      const move = await kiln.request('PUT', '/api/models/imported/aliases/production', { body: { version: 2 } });
      assert.equal(move.status, 200, move.text);
      const archived = await kiln.request('POST', '/api/models/imported/versions/1/archive');
      assert.equal(archived.status, 200, archived.text);
      assert.equal(archived.body.status, 'archived');
      assert.ok(archived.body.archivedAt);
      const again = await kiln.request('POST', '/api/models/imported/versions/1/archive');
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.archivedAt, archived.body.archivedAt, 'idempotent');
      const back = await kiln.request('PUT', '/api/models/imported/aliases/production', { body: { version: 1 } });
      assert.equal(back.status, 409, back.text);
      const unknown = await kiln.request('POST', '/api/models/imported/versions/9/archive');
      assert.equal(unknown.status, 404, unknown.text);
      const created = await kiln.request('POST', '/api/keys', { body: { name: 'reader', role: 'predictor' } });
      const denied = await kiln.request('POST', '/api/models/imported/versions/2/archive', { key: created.body.key });
      assert.equal(denied.status, 403, denied.text);
    });

    async function train(body: object): Promise<any> {
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: { datasetVersionId: dataset.id, target: 'Species', modelName: 'penguins-promo', ...body },
      });
      assert.equal(res.status, 202, res.text);
      return eventually(
        async () => {
          const r = await kiln.request('GET', `/api/training-jobs/${res.body.id}`);
          if (r.body.status === 'failed' || r.body.status === 'cancelled')
            assert.fail(`job ${r.body.status}: ${JSON.stringify(r.body.error)}`);
          return r.body.status === 'succeeded' ? r.body : undefined;
        },
        40_000,
        200,
      );
    }
    // Same seed → same split: every job below is evaluated on the same test rows.
    const weak = { hyperparameters: { epochs: 1, batchSize: 64, learningRate: 0.0005, hiddenUnits: [2], seed: 7 } };
    const strong = { hyperparameters: { epochs: 15, batchSize: 16, learningRate: 0.01, hiddenUnits: [16], seed: 7 } };

    it('rejects a promote metric of the wrong task before queueing', async () => {
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId: dataset.id,
          target: 'Species',
          task: 'multiclass',
          modelName: 'penguins-promo',
          promote: 'if-better',
          promoteMetric: 'rmse',
        },
      });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.errors[0].field, 'promoteMetric');
      const mode = await kiln.request('POST', '/api/training-jobs', {
        body: { datasetVersionId: dataset.id, target: 'Species', modelName: 'penguins-promo', promote: 'sometimes' },
      });
      assert.equal(mode.status, 400, mode.text);
      assert.equal(mode.body.errors[0].field, 'promote');
    });

    it(
      'promote always moves production; ' + 'if-better re-scores production on the new test split and moves it only on improvement',
      async () => {
        const a = await train({ ...weak, promote: 'always' });
        assert.equal(a.modelVersion.version, 1);
        assert.equal(a.promotion.promoted, true);
        let model = (await kiln.request('GET', '/api/models/penguins-promo')).body;
        assert.deepEqual(model.aliases, { production: 1 });

        const b = await train({ ...strong, promote: 'if-better' });
        assert.equal(b.modelVersion.version, 2);
        const pb = b.promotion;
        assert.equal(pb.metric, 'macroF1');
        assert.equal(pb.basis, 'candidate-test-split');
        assert.equal(pb.productionVersion, 1);
        assert.equal(pb.candidate, b.metrics.test.macroF1);
        // Version 1 re-scored on job b's test rows (same seed → same rows as job a): its stored metric.
        assert.ok(Math.abs(pb.production - a.metrics.test.macroF1) < 1e-6, `${pb.production} vs ${a.metrics.test.macroF1}`);
        assert.ok(pb.candidate > pb.production, JSON.stringify(pb));
        assert.equal(pb.promoted, true);
        model = (await kiln.request('GET', '/api/models/penguins-promo')).body;
        assert.deepEqual(model.aliases, { production: 2 });

        const c = await train({ ...weak, promote: 'if-better' });
        assert.equal(c.modelVersion.version, 3);
        assert.equal(c.promotion.promoted, false);
        assert.equal(c.promotion.productionVersion, 2);
        assert.ok(Math.abs(c.promotion.production - b.metrics.test.macroF1) < 1e-6, JSON.stringify(c.promotion));
        assert.ok(c.promotion.candidate < c.promotion.production);
        model = (await kiln.request('GET', '/api/models/penguins-promo')).body;
        assert.deepEqual(model.aliases, { production: 2 }, 'production stays');

        const never = await train({ ...weak });
        assert.equal(never.promotion, null);

        const history = (await kiln.request('GET', '/api/models/penguins-promo/aliases/production/history')).body;
        assert.deepEqual(
          history.map((h: any) => [h.from, h.to]),
          [
            [null, 1],
            [1, 2],
          ],
        );
        assert.ok(history.every((h: any) => h.changedBy === a.createdBy));
        assert.match(history[0].reason, /promote=always/);
        assert.match(history[1].reason, /if-better: improves: macroF1/);
      },
    );
  });
}

void main();
