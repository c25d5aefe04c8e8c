/**
 * Kiln-trained models on ONNX Runtime, end to end on the machine's PostgreSQL: a trained `mlp`
 * (multiclass) and `linear` (regression) version is exported to ONNX at registration; `PUT
 * /api/models/{name}/serving {"engine"}` swaps the engine without downtime, and both engines answer
 * the same inputs within 1e-5 on the record API and /v2.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { penguinRecords, penguinsVersion, trainModel } from './inference-helpers';
import * as tfl from '@tensorflow/tfjs-layers';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { importLayersModel } from '../models/model-import-helpers';

const TOLERANCE = 1e-5;

async function setEngine(kiln: TestKiln, model: string, engine: string, platform: string): Promise<void> {
  const res = await kiln.request('PUT', `/api/models/${model}/serving`, { body: { engine } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.engine, engine);
  // The swap is applied once the other engine's copy is warm; until then the old one answers.
  await eventually(async () => {
    const meta = await kiln.request('GET', `/v2/models/${model}`);
    return meta.body.platform === platform ? true : undefined;
  }, 30_000);
}

/** Every number of the record API's predictions, in order (probabilities by class, or values). */
function numbers(predictions: Array<{ probabilities?: Record<string, number>; value?: number }>): number[] {
  return predictions.flatMap((p) =>
    p.probabilities
      ? Object.keys(p.probabilities)
          .sort()
          .map((c) => p.probabilities![c]!)
      : [p.value!],
  );
}

function maxAbsDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('serving engine per model: TF.js vs ONNX Runtime on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let datasetVersionId: string;

    before(async () => {
      kiln = await startTestKiln('postgres');
      datasetVersionId = (await penguinsVersion(kiln)).id;
    });
    after(async () => {
      await kiln?.close();
    });

    it('a trained mlp is exported to ONNX at registration; both engines agree within 1e-5 (record API and /v2)', async () => {
      const version = await trainModel(kiln, {
        datasetVersionId,
        modelName: 'engine-mlp',
        target: 'Species',
        hyperparameters: { hiddenUnits: [32, 16] },
        promote: 'always',
      });
      const v = await kiln.request('GET', `/api/models/engine-mlp/versions/${version}`);
      assert.match(v.body.artifacts.onnx, /^[0-9a-f]{64}$/, 'the ONNX graph is stored beside the TF.js artifact');
      assert.deepEqual(v.body.lineage.onnxExport, { opset: 13 });
      assert.deepEqual(v.body.engines, ['tfjs', 'onnxruntime']);
      const serving = await kiln.request('GET', '/api/models/engine-mlp/serving');
      assert.equal(serving.body.engine, 'tfjs', 'TF.js stays the default engine');

      const records = penguinRecords(60);
      const width = v.body.signature.inputs[0].shape[1] as number;
      const row = Array.from({ length: 3 * width }, (_, i) => ((i * 37) % 17) / 4 - 2);
      const v2 = (await kiln.request('POST', '/v2/models/engine-mlp/infer', {
        body: { inputs: [{ name: v.body.signature.inputs[0].name, datatype: 'FP32', shape: [3, width], data: row }] },
      })) as { status: number; text: string; body: { outputs: Array<{ data: number[] }> } };
      const onTfjs = await kiln.request('POST', '/api/models/engine-mlp/predict', { body: { records } });
      assert.equal(onTfjs.status, 200, onTfjs.text);
      assert.equal(v2.status, 200, v2.text);
      assert.equal((await kiln.request('GET', '/v2/models/engine-mlp')).body.platform, 'tensorflowjs_layers');

      await setEngine(kiln, 'engine-mlp', 'onnxruntime', 'onnxruntime_onnx');
      const onOrt = await kiln.request('POST', '/api/models/engine-mlp/predict', { body: { records } });
      assert.equal(onOrt.status, 200, onOrt.text);
      const diff = maxAbsDiff(numbers(onOrt.body.predictions), numbers(onTfjs.body.predictions));
      assert.ok(diff <= TOLERANCE, `record API: max |onnxruntime - tfjs| = ${diff}`);
      assert.deepEqual(
        onOrt.body.predictions.map((p: { label: string }) => p.label),
        onTfjs.body.predictions.map((p: { label: string }) => p.label),
      );
      const v2Ort = await kiln.request('POST', '/v2/models/engine-mlp/infer', {
        body: { inputs: [{ name: v.body.signature.inputs[0].name, datatype: 'FP32', shape: [3, width], data: row }] },
      });
      assert.equal(v2Ort.status, 200, v2Ort.text);
      const diff2 = maxAbsDiff(v2Ort.body.outputs[0].data, v2.body.outputs[0]!.data);
      assert.ok(diff2 <= TOLERANCE, `/v2: max |onnxruntime - tfjs| = ${diff2}`);

      const explain = await kiln.request('POST', '/api/models/engine-mlp/predict?explain=true', { body: { records: records.slice(0, 1) } });
      assert.equal(explain.status, 400, explain.text);
      assert.equal(explain.body.errors[0].field, 'explain');

      await setEngine(kiln, 'engine-mlp', 'tfjs', 'tensorflowjs_layers');
      const back = await kiln.request('POST', '/api/models/engine-mlp/predict?explain=true', { body: { records: records.slice(0, 1) } });
      assert.equal(back.status, 200, `explanations again on TF.js: ${back.text}`);
    });

    it('a trained linear regression agrees within 1e-5 on engine auto', async () => {
      await trainModel(kiln, {
        datasetVersionId,
        modelName: 'engine-linear',
        target: 'Body Mass (g)',
        template: 'linear',
        features: ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Sex'],
        hyperparameters: { hiddenUnits: [] },
        promote: 'always',
      });
      const records = penguinRecords(40).map(({ ['Body Mass (g)']: _mass, ...r }) => r);
      const onTfjs = await kiln.request('POST', '/api/models/engine-linear/predict', { body: { records } });
      assert.equal(onTfjs.status, 200, onTfjs.text);
      await setEngine(kiln, 'engine-linear', 'auto', 'onnxruntime_onnx');
      const onOrt = await kiln.request('POST', '/api/models/engine-linear/predict', { body: { records } });
      assert.equal(onOrt.status, 200, onOrt.text);
      // Regression values are in grams (thousands): compare relative to the value.
      const a = numbers(onOrt.body.predictions);
      const b = numbers(onTfjs.body.predictions);
      const rel = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!) / Math.max(1, Math.abs(b[i]!))), 0);
      assert.ok(rel <= TOLERANCE, `regression: max relative |onnxruntime - tfjs| = ${rel}`);
    });

    it('an engine an imported TF.js model cannot run on leaves it answering on TF.js and names the error', async () => {
      await TfRuntime.initForTests();
      const m = tfl.sequential();
      m.add(tfl.layers.dense({ units: 2, inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
      await importLayersModel(kiln, 'engine-imported', m, {
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 2] }],
      });
      m.dispose();
      assert.equal((await kiln.request('PUT', '/api/models/engine-imported/aliases/production', { body: { version: 1 } })).status, 200);
      const infer = () =>
        kiln.request('POST', '/v2/models/engine-imported/infer', {
          body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
        });
      const before = await infer();
      assert.equal(before.status, 200, before.text);
      assert.equal((await kiln.request('PUT', '/api/models/engine-imported/serving', { body: { engine: 'onnxruntime' } })).status, 200);
      const status = await eventually(async () => {
        const r = await kiln.request('GET', '/v1/models/engine-imported');
        const s = r.body.model_version_status?.[0];
        return s?.status?.error_message ? s : undefined;
      });
      assert.match(status.status.error_message, /no ONNX graph/);
      const during = await infer();
      assert.equal(during.status, 200, during.text);
      assert.deepEqual(during.body.outputs, before.body.outputs);
      assert.equal((await kiln.request('GET', '/v2/models/engine-imported')).body.platform, 'tensorflowjs_layers');
    });

    it('/api/platform and the /v2 server metadata report the TF.js backend and the ONNX Runtime build', async () => {
      const platform = await kiln.request('GET', '/api/platform');
      assert.equal(platform.status, 200, platform.text);
      const { tfjs, onnxruntime } = platform.body.engines;
      assert.match(tfjs.backend, /^(tensorflow|wasm|cpu)$/);
      assert.match(tfjs.provider, /^@tensorflow\/tfjs-(node|node-gpu|backend-wasm|backend-cpu)$/);
      assert.deepEqual(
        { provider: onnxruntime.provider, executionProviders: onnxruntime.executionProviders },
        { provider: 'onnxruntime-node', executionProviders: ['cpu'] },
      );
      assert.match(onnxruntime.version, /^1\.\d+\.\d+/);
      const v2 = await kiln.request('GET', '/v2', { key: null });
      assert.deepEqual(v2.body.engines, platform.body.engines);
      assert.deepEqual(v2.body.extensions, [
        'binary_tensor_data',
        'model_repository',
        'model_configuration',
        'statistics',
        'system_shared_memory',
        'trace',
      ]);
    });

    it('refuses an unknown engine with 400 naming engine and changes nothing', async () => {
      const bad = await kiln.request('PUT', '/api/models/engine-mlp/serving', { body: { engine: 'tensorrt' } });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.errors[0].field, 'engine');
      assert.equal((await kiln.request('GET', '/api/models/engine-mlp/serving')).body.engine, 'tfjs');
    });
  });
}

void main();
