import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as immediate } from 'node:timers/promises';
import { TfRuntime } from '../../platform/tfjs/tf-runtime';
import { buildModel, resolveHyperparameters } from '../templates';
import { exportDenseStackToOnnx } from './onnx-export';
import { OnnxModel, OnnxModelError, type OnnxHostTensor } from './onnx-model';
import { onnxSessionThreadFile, ThreadedOnnxModel } from './threaded-onnx-model';

const WIDTH = 100;

function rows(n: number): OnnxHostTensor {
  const data = new Float32Array(n * WIDTH);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i) * 2;
  return { name: 'features', dtype: 'float32', shape: [n, WIDTH], data };
}

/** Whether `run` finished before one turn of the event loop went by: it did if it held the main thread. */
async function blocksTheEventLoop(run: () => Promise<unknown>): Promise<boolean> {
  let done = false;
  const call = run().then(() => (done = true));
  await immediate();
  const finishedFirst = done;
  await call;
  return finishedFirst;
}

describe('ThreadedOnnxModel (ONNX Runtime sessions on the serving thread)', () => {
  let graph: Uint8Array;
  let file: string;
  before(async () => {
    await TfRuntime.initForTests();
    const hp = resolveHyperparameters('mlp', { hiddenUnits: [512, 512, 512], dropout: 0, seed: 7 });
    const model = buildModel('mlp', { inputWidth: WIDTH, task: 'binary' }, hp, false);
    graph = exportDenseStackToOnnx(model, 'features', 'probability');
    model.dispose();
    const compiled = onnxSessionThreadFile();
    assert.ok(compiled, 'run from dist: the compiled thread entry is beside this file');
    file = compiled;
  });

  const models: Array<{ dispose(): Promise<void> }> = [];
  after(async () => {
    for (const m of models) await m.dispose();
  });

  it('answers what the main-thread session answers, bit for bit, and reads the same signature', async () => {
    const local = await OnnxModel.fromBytes(graph);
    const threaded = await ThreadedOnnxModel.start(file, graph);
    models.push(local, threaded);
    assert.deepEqual(threaded.inputs, local.inputs);
    assert.deepEqual(threaded.outputs, local.outputs);
    for (const n of [1, 7, 64]) {
      const [a] = await local.run([rows(n)]);
      const [b] = await threaded.run([rows(n)]);
      assert.deepEqual([b!.name, b!.dtype, b!.shape], [a!.name, a!.dtype, a!.shape]);
      assert.ok(b!.data instanceof Float32Array);
      assert.deepEqual(Buffer.from((b!.data as Float32Array).buffer), Buffer.from((a!.data as Float32Array).buffer));
    }
    // calls in flight at once are answered each with its own rows
    const [y1, y2] = await Promise.all([threaded.run([rows(3)]), threaded.run([rows(5)])]);
    assert.deepEqual(
      [y1![0]!.shape, y2![0]!.shape],
      [
        [3, 1],
        [5, 1],
      ],
    );
  });

  it('runs the graph off the main thread: the event loop turns while a large batch runs', async () => {
    const local = await OnnxModel.fromBytes(graph);
    const threaded = await ThreadedOnnxModel.start(file, graph);
    models.push(local, threaded);
    const big = rows(4096);
    assert.equal(await blocksTheEventLoop(() => local.run([big])), true, 'the main-thread session holds the event loop');
    assert.equal(await blocksTheEventLoop(() => threaded.run([big])), false);
  });

  it('refuses a graph ONNX Runtime cannot load, inputs the graph cannot take, and calls after dispose', async () => {
    await assert.rejects(ThreadedOnnxModel.start(file, new Uint8Array([1, 2, 3])), (e: unknown) => e instanceof OnnxModelError);
    const threaded = await ThreadedOnnxModel.start(file, graph);
    await assert.rejects(
      threaded.run([{ ...rows(2), shape: [2, WIDTH + 1], data: new Float32Array(2 * (WIDTH + 1)) }]),
      /features|dimension|Got invalid/i,
    );
    await threaded.dispose();
    await assert.rejects(threaded.run([rows(1)]), /released/);
  });
});
