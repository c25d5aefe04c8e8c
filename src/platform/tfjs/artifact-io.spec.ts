import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  ModelArtifactError,
  ModelBytes,
  WEIGHTS_SHARD_NAME,
  bytesLoadHandler,
  fromModelJsonAndShards,
  loadGraphModelFromBytes,
  loadLayersModelFromBytes,
  loadModelFromBytes,
  saveModelToBytes,
} from './artifact-io';
import { TfRuntime } from './tf-runtime';
import { GRAPH_B, GRAPH_W, handWrittenGraphModel } from '../../../test/support/tfjs/graph-model-fixture';
import * as tfconv from '@tensorflow/tfjs-converter';

const X = [
  [0.5, -1, 2],
  [1.5, 0.25, -0.75],
  [0, 0, 0],
  [-2, 3, 1],
];

function predictArray(model: { predict(x: tf.Tensor): unknown }): number[] {
  return tf.tidy(() => {
    const y = model.predict(tf.tensor2d(X)) as tf.Tensor | tf.Tensor[];
    return Array.from((Array.isArray(y) ? y[0] : y).dataSync());
  });
}

/**
 * A graph model in the format tensorflowjs_converter writes (GraphDef JSON + weights manifest):
 * y = sigmoid(x · W + b). Written by hand because producing one from TF.js needs the Python
 * converter; TF.js's own GraphModel.save() then re-serialises it in the test below.
 */
const W = GRAPH_W;
const B = GRAPH_B;
function expectedGraphOutput(): number[] {
  return X.map((r) => {
    const z = r[0] * W[0] + r[1] * W[1] + r[2] * W[2] + B;
    return 1 / (1 + Math.exp(-z));
  });
}

function assertClose(a: number[], b: number[], tol = 1e-6): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `index ${i}: ${v} vs ${b[i]}`));
}

describe('artifact-io', () => {
  before(async () => {
    await TfRuntime.initForTests();
  });

  it('layers model: save to bytes and load back gives identical predictions and metadata', async () => {
    const model = tfl.sequential();
    model.add(
      tfl.layers.dense({ units: 4, activation: 'relu', inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    );
    model.add(tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
    model.setUserDefinedMetadata({ kiln: { note: 'hello' } });
    const before = predictArray(model);

    const bytes = await saveModelToBytes(model);
    assert.equal(bytes.modelJson.format, 'layers-model');
    assert.deepEqual(bytes.modelJson.weightsManifest[0].paths, [WEIGHTS_SHARD_NAME]);
    assert.equal(bytes.weights.byteLength, (3 * 4 + 4 + 4 * 2 + 2) * 4);

    // as the artifact store would keep them: JSON text + raw bytes
    const stored: ModelBytes = { modelJson: JSON.parse(JSON.stringify(bytes.modelJson)), weights: Buffer.from(bytes.weights) };
    const loaded = await loadLayersModelFromBytes(stored);
    assert.deepEqual(predictArray(loaded), before);
    assert.deepEqual(loaded.getUserDefinedMetadata(), { kiln: { note: 'hello' } });

    const any = await loadModelFromBytes(stored);
    assert.equal(any.format, 'layers-model');
    model.dispose();
    loaded.dispose();
    any.model.dispose();
  });

  it('graph model: loads through the bytes handler, re-saves with GraphModel.save and round-trips', async () => {
    const original = handWrittenGraphModel();
    const g1 = await loadGraphModelFromBytes(original);
    assertClose(predictArray(g1), expectedGraphOutput());

    const resaved = await saveModelToBytes(g1); // TF.js's own save API through our memory handler
    assert.equal(resaved.modelJson.format, 'graph-model');
    assert.ok(resaved.weights.equals(original.weights));
    const any = await loadModelFromBytes({ modelJson: JSON.parse(JSON.stringify(resaved.modelJson)), weights: resaved.weights });
    assert.equal(any.format, 'graph-model');
    assert.ok(any.model instanceof tfconv.GraphModel);
    assert.deepEqual(predictArray(any.model), predictArray(g1));
    g1.dispose();
    any.model.dispose();
  });

  it('uploaded model.json + several shards become one weights buffer; a missing shard is named', async () => {
    const g = handWrittenGraphModel();
    const json = JSON.parse(JSON.stringify(g.modelJson));
    json.weightsManifest[0].paths = ['part-a.bin', 'part-b.bin'];
    const shards = new Map([
      ['part-a.bin', g.weights.subarray(0, 8)],
      ['part-b.bin', g.weights.subarray(8)],
    ]);
    const bytes = fromModelJsonAndShards(json, shards);
    assert.ok(bytes.weights.equals(g.weights));
    const m = await loadGraphModelFromBytes(bytes);
    assertClose(predictArray(m), expectedGraphOutput());
    m.dispose();

    assert.throws(() => fromModelJsonAndShards(json, new Map([['part-a.bin', g.weights.subarray(0, 8)]])), /part-b\.bin/);
  });

  it('corrupt artifacts are rejected with ModelArtifactError naming the problem', async () => {
    const g = handWrittenGraphModel();
    await assert.rejects(loadGraphModelFromBytes({ ...g, weights: g.weights.subarray(0, 10) }), (e: unknown) => {
      assert.ok(e instanceof ModelArtifactError);
      assert.match(e.message, /10 bytes.*16/);
      return true;
    });
    await assert.rejects(
      loadLayersModelFromBytes({ modelJson: { weightsManifest: [] } as never, weights: Buffer.alloc(0) }),
      (e: unknown) => e instanceof ModelArtifactError && /modelTopology/.test(e.message),
    );
    const badLayers: ModelBytes = {
      modelJson: {
        format: 'layers-model',
        modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'NoSuchLayer', config: {} }] } },
        weightsManifest: [{ paths: [WEIGHTS_SHARD_NAME], weights: [] }],
      },
      weights: Buffer.alloc(0),
    };
    await assert.rejects(
      loadLayersModelFromBytes(badLayers),
      (e: unknown) => e instanceof ModelArtifactError && /cannot load the layers-model/.test(e.message),
    );
    // the raw handler is usable with tfjs' own loaders too
    assert.equal(typeof bytesLoadHandler(g).load, 'function');
  });
});
