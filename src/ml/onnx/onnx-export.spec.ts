import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TfRuntime } from '../../platform/tfjs/tf-runtime';
import { buildModel, resolveHyperparameters, type TemplateName } from '../templates';
import type { Task } from '../types';
import { exportDenseStackToOnnx, OnnxExportError } from './onnx-export';
import { OnnxModel, OnnxModelError } from './onnx-model';

/** Deterministic inputs in roughly the range standardised features take. */
function inputs(rows: number, width: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(rows * width);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 6 - 3;
  }
  return out;
}

async function maxDiff(model: tfl.LayersModel, width: number, rows: number): Promise<{ diff: number; units: number }> {
  const x = inputs(rows, width, 17);
  const bytes = exportDenseStackToOnnx(model, 'features', 'out');
  const onnx = await OnnxModel.fromBytes(bytes);
  try {
    assert.deepEqual(
      onnx.inputs.map((t) => [t.name, t.dtype, t.shape]),
      [['features', 'float32', [-1, width]]],
    );
    const [y] = await onnx.run([{ name: 'features', dtype: 'float32', shape: [rows, width], data: x }]);
    const want = tf.tidy(() => (model.predict(tf.tensor2d(x, [rows, width])) as tf.Tensor).dataSync().slice());
    assert.equal(y!.data.length, want.length);
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs((y!.data[i] as number) - want[i]!));
    return { diff, units: y!.shape[1]! };
  } finally {
    await onnx.dispose();
  }
}

describe('ONNX export of the mlp and linear templates (TF.js vs ONNX Runtime, same weights)', () => {
  before(async () => {
    await TfRuntime.initForTests();
  });

  const cases: Array<[TemplateName, Task, number[], number]> = [
    ['mlp', 'binary', [64, 32], 1],
    ['mlp', 'multiclass', [16], 5],
    ['mlp', 'regression', [32, 32, 8], 1],
    ['linear', 'binary', [], 1],
    ['linear', 'multiclass', [], 3],
    ['linear', 'regression', [], 1],
  ];
  for (const [template, task, hiddenUnits, units] of cases) {
    it(`${template} ${task}: outputs agree within 1e-5 on 257 rows`, async () => {
      const hp = resolveHyperparameters(template, { hiddenUnits, dropout: 0, seed: 3 });
      const width = 30;
      const model = buildModel(template, { inputWidth: width, task, classes: units }, hp, false);
      // Non-zero biases, so a dropped bias would show.
      for (const layer of model.layers) {
        const [k, b] = layer.getWeights();
        layer.setWeights([k!, tf.randomUniform(b!.shape, -0.5, 0.5, 'float32', 11)]);
      }
      const { diff, units: got } = await maxDiff(model, width, 257);
      assert.equal(got, units);
      assert.ok(diff <= 1e-5, `max |onnx - tfjs| = ${diff}`);
      model.dispose();
    });
  }

  it('refuses a layer it cannot express, naming it', () => {
    const m = tfl.sequential();
    m.add(tfl.layers.dense({ units: 4, inputShape: [3], name: 'd' }));
    m.add(tfl.layers.batchNormalization({ name: 'bn' }));
    assert.throws(
      () => exportDenseStackToOnnx(m, 'x', 'y'),
      (e: unknown) => e instanceof OnnxExportError && /'bn'.*BatchNormalization/.test(e.message),
    );
    m.dispose();
  });

  it('ONNX Runtime refuses bytes that are not a graph with an OnnxModelError', async () => {
    await assert.rejects(
      OnnxModel.fromBytes(Buffer.from('not a graph')),
      (e: unknown) => e instanceof OnnxModelError && /cannot load/.test(e.message),
    );
  });
});
