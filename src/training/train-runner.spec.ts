import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { penguinsSpecies } from '../../test/support/public-datasets';
import { storeTable } from '../../test/support/stored-dataset';
import { FsArtifactStore } from '../platform/artifacts';
import { closeTrainingWorkers, currentTrainingWorkerPool, lastTrainingWorkerTensorCount, runTraining } from './train-runner';
import type { RunTrainingOptions, TrainJobInput } from './train-protocol';

/* The training worker pool: one long-lived thread reused job after job, replaced after a cancel. */

const d = penguinsSpecies();
const root = mkdtempSync(join(tmpdir(), 'kiln-train-runner-'));
const store = new FsArtifactStore(root);
let dataset: TrainJobInput['dataset'];
const spec = (epochs: number): TrainJobInput => ({
  artifacts: store.location(),
  tfBackend: 'wasm',
  dataset,
  spec: { target: d.target, hyperparameters: { epochs, earlyStoppingPatience: 0, hiddenUnits: [8], seed: 1 } },
});
const opts = (signal: AbortSignal, onProgress: RunTrainingOptions['onProgress'] = async () => undefined): RunTrainingOptions => ({
  training: { concurrency: 1, inProcess: false },
  signal,
  onProgress,
  onCheckpoint: async () => undefined,
  productionVersion: async () => null,
});

describe('training worker pool', () => {
  before(async () => {
    dataset = await storeTable(store, d.table);
  });
  after(async () => {
    await closeTrainingWorkers();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs jobs one after another on one thread without leaking tensors, and replaces it after a cancel', async () => {
    process.env.KILN_TF_BACKEND ??= 'cpu';
    await runTraining(spec(2), opts(new AbortController().signal));
    const pool = currentTrainingWorkerPool()!;
    const [first] = pool.threadIds;
    const tensors = lastTrainingWorkerTensorCount();
    assert.equal(typeof tensors, 'number');
    for (let i = 0; i < 2; i++) {
      const o = await runTraining(spec(2), opts(new AbortController().signal));
      assert.equal(o.epochsCompleted, 2);
      assert.deepEqual(pool.threadIds, [first]);
      assert.equal(lastTrainingWorkerTensorCount(), tensors);
    }
    // a training error keeps its name and the thread
    const badTarget = { ...spec(2), spec: { ...spec(2).spec, target: 'no-such-column' } };
    await assert.rejects(runTraining(badTarget, opts(new AbortController().signal)), (e: Error) => e.name === 'TrainingSpecError');
    assert.deepEqual(pool.threadIds, [first]);
    assert.equal(lastTrainingWorkerTensorCount(), tensors);

    // cancel: the thread is terminated, and the next job runs on a fresh one. (The worker sees the
    // cancel message between macrotasks; train() may finish first, then the job still ends cancelled
    // in the processor, which registers nothing for a cancel-requested row.)
    const c = new AbortController();
    await runTraining(
      spec(50),
      opts(c.signal, async (p) => {
        if (p.epoch === 1) c.abort();
      }),
    ).catch((e: Error) => assert.equal(e.name, 'TrainingCancelledError'));
    assert.equal(pool.size, 0);
    await runTraining(spec(1), opts(new AbortController().signal));
    assert.equal(pool.threadIds.length, 1);
    assert.notEqual(pool.threadIds[0], first);
  });

  it('decides the promotion in the worker: asks for production only for if-better, after training, and scores it there', async () => {
    let asked = 0;
    const signal = new AbortController().signal;
    const noProduction = async (): Promise<null> => {
      asked++;
      return null;
    };
    const never = await runTraining(spec(1), { ...opts(signal), productionVersion: noProduction });
    assert.equal(never.promotion, null);
    assert.equal(asked, 0);
    const first = await runTraining({ ...spec(2), promote: { mode: 'if-better' } }, { ...opts(signal), productionVersion: noProduction });
    assert.ok(first.kind === 'tabular');
    assert.equal(asked, 1);
    assert.equal(first.promotion?.basis, 'no-production-version');
    assert.equal(first.promotion?.promote, true);

    // the first model as production: the worker reads its bytes from the store and scores it on the new job's test split
    const modelJson = await store.put(Buffer.from(JSON.stringify(first.modelBytes.modelJson)));
    const weights = await store.put(first.modelBytes.weights);
    const production = {
      version: 1,
      task: first.task,
      metrics: first.metrics,
      preprocessing: first.preprocessing,
      target: first.target,
      modelJsonSha256: modelJson.sha256,
      weightsSha256: weights.sha256,
    };
    const second = await runTraining(
      { ...spec(2), promote: { mode: 'if-better', metric: 'accuracy' } },
      { ...opts(signal), productionVersion: async () => production },
    );
    assert.ok(second.kind === 'tabular');
    const p = second.promotion!;
    assert.equal(p.basis, 'candidate-test-split');
    assert.equal(p.productionVersion, 1);
    assert.equal(p.rows, second.testPredictions.rowIndices.length);
    // same spec and seed: the production model is the same model, scored on the same test rows
    assert.equal(p.production, (first.metrics.test as { accuracy: number }).accuracy);
    assert.equal(p.promote, false);

    // a failed registry lookup fails the job
    await assert.rejects(
      runTraining(
        { ...spec(1), promote: { mode: 'if-better' } },
        { ...opts(signal), productionVersion: async () => Promise.reject(new Error('registry down')) },
      ),
      /registry down/,
    );
  });
});
