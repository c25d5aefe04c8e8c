import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { penguinsSpecies } from '../../test/support/public-datasets';
import type { TrainSpec } from '../ml';
import { closeTrainingWorkers, currentTrainingWorkerPool, lastTrainingWorkerTensorCount, runTraining } from './train-runner';
import type { RunTrainingOptions } from './train-protocol';

/* The training worker pool: one long-lived thread reused job after job, replaced after a cancel. */

const d = penguinsSpecies();
const spec = (epochs: number): TrainSpec => ({ table: d.table, target: d.target, hyperparameters: { epochs, earlyStoppingPatience: 0, hiddenUnits: [8], seed: 1 } });
const opts = (signal: AbortSignal, onProgress: RunTrainingOptions['onProgress'] = async () => undefined): RunTrainingOptions => ({
  signal,
  onProgress,
  onCheckpoint: async () => undefined,
});

describe('training worker pool', () => {
  after(() => closeTrainingWorkers());

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
    await assert.rejects(runTraining({ ...spec(2), target: 'no-such-column' }, opts(new AbortController().signal)), (e: Error) => e.name === 'TrainingSpecError');
    assert.deepEqual(pool.threadIds, [first]);
    assert.equal(lastTrainingWorkerTensorCount(), tensors);

    // cancel: the thread is terminated, and the next job runs on a fresh one. (The worker sees the
    // cancel message between macrotasks; train() may finish first, then the job still ends cancelled
    // in the processor, which registers nothing for a cancel-requested row.)
    const c = new AbortController();
    await runTraining(spec(50), opts(c.signal, async (p) => { if (p.epoch === 1) c.abort(); })).catch((e: Error) => assert.equal(e.name, 'TrainingCancelledError'));
    assert.equal(pool.size, 0);
    await runTraining(spec(1), opts(new AbortController().signal));
    assert.equal(pool.threadIds.length, 1);
    assert.notEqual(pool.threadIds[0], first);
  });
});
