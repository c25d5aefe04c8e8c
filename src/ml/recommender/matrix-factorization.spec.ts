import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { TfRuntime } from '../../platform/tfjs/tf-runtime';
import { plantedInteractions } from '../../../test/support/planted-interactions';
import { CheckpointMismatchError, decodeCheckpoint, encodeCheckpoint } from '../checkpoint';
import { TrainingSpecError, type Table } from '../types';
import { ITEM_FACTORS_LAYER, trainRecommender, USER_FACTORS_LAYER } from './matrix-factorization';
import { TopKAccumulator, topKIndices } from './ranking-metrics';

function plantedTable(ratings = false, seed = 1): Table {
  const { rows } = plantedInteractions({ ratings, seed });
  return {
    columns: [
      { name: 'user', type: 'string' },
      { name: 'item', type: 'integer' },
      { name: 'ts', type: 'timestamp' },
      ...(ratings ? [{ name: 'rating', type: 'integer' as const }] : []),
    ],
    rows: rows.map((r) => ({ ...r })),
  };
}

describe('recommender: ranking metrics', () => {
  it('topKIndices is a partial sort: best first, masked entries never returned', () => {
    const s = Float32Array.from([0.1, 0.9, -Infinity, 0.5, 0.9, 0.3]);
    assert.deepEqual(topKIndices(s, 3), [1, 4, 3]);
    assert.deepEqual(topKIndices(s, 10), [1, 4, 3, 5, 0]);
  });

  it('precision/recall/NDCG/MAP@K against a hand computation', () => {
    const acc = new TopKAccumulator(3, 10);
    acc.add([5, 1, 7], new Set([1, 2])); // one hit at rank 2
    const m = acc.result();
    assert.equal(m.precisionAtK, 1 / 3);
    assert.equal(m.recallAtK, 1 / 2);
    assert.ok(Math.abs(m.ndcgAtK - 1 / Math.log2(3) / (1 + 1 / Math.log2(3))) < 1e-12);
    assert.equal(m.mapAtK, 1 / 2 / 2);
    assert.equal(m.coverage, 3 / 10);
  });
});

describe('recommender: matrix factorisation on planted groups', () => {
  before(async () => {
    await TfRuntime.initForTests();
  });

  it('implicit (BPR): beats the popularity baseline on NDCG@10 by a clear margin', async () => {
    const before = tf.memory().numTensors;
    const r = await trainRecommender({ table: plantedTable(), columns: { user: 'user', item: 'item', timestamp: 'ts' } });
    const t = r.metrics.test;
    console.log(
      `planted implicit: NDCG@10 model ${t.ndcgAtK.toFixed(3)} vs popularity ${t.baseline.ndcgAtK.toFixed(3)}; ` +
        `recall@10 ${t.recallAtK.toFixed(3)} vs ${t.baseline.recallAtK.toFixed(3)}; ` +
        `coverage ${t.coverage.toFixed(3)} vs ${t.baseline.coverage.toFixed(3)}`,
    );
    assert.equal(r.feedback, 'implicit');
    assert.equal(r.split.by, 'time');
    assert.equal(t.users, 300);
    assert.ok(t.ndcgAtK >= 1.5 * t.baseline.ndcgAtK, `NDCG@10 ${t.ndcgAtK} vs popularity ${t.baseline.ndcgAtK}`);
    assert.ok(t.coverage > t.baseline.coverage);
    // the serving model reproduces the trained scores' ranking: user table · item kernel
    const users = r.model.getLayer(USER_FACTORS_LAYER).getWeights()[0]!;
    const kernel = r.model.getLayer(ITEM_FACTORS_LAYER).getWeights()[0]!;
    assert.deepEqual(users.shape, [300, 34]);
    assert.deepEqual(kernel.shape, [34, r.index.items.length]);
    const viaPredict = tf.tidy(() => (r.model.predict(tf.tensor2d([[0]])) as tf.Tensor).dataSync());
    const viaProduct = tf.tidy(() => tf.matMul(tf.slice(users, [0, 0], [1, 34]), kernel).dataSync());
    assert.deepEqual(Array.from(viaPredict), Array.from(viaProduct));
    r.model.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  it('explicit ratings: RMSE below the item-mean baseline, top-K above popularity', async () => {
    const r = await trainRecommender({
      table: plantedTable(true),
      columns: { user: 'user', item: 'item', rating: 'rating', timestamp: 'ts' },
      hyperparameters: { epochs: 30, l2: 0.05 },
    });
    const t = r.metrics.test;
    console.log(
      `planted explicit: RMSE ${t.rmse!.toFixed(3)} vs item mean ${t.baseline.rmse!.toFixed(3)}; ` +
        `NDCG@10 ${t.ndcgAtK.toFixed(3)} vs ${t.baseline.ndcgAtK.toFixed(3)}`,
    );
    assert.equal(r.feedback, 'explicit');
    assert.ok(t.rmse! < t.baseline.rmse!, `rmse ${t.rmse} vs ${t.baseline.rmse}`);
    r.model.dispose();
  });

  it('bad specs name the field', async () => {
    const table = plantedTable();
    const fails = async (spec: Parameters<typeof trainRecommender>[0], field: string) =>
      assert.rejects(trainRecommender(spec), (e: unknown) => e instanceof TrainingSpecError && e.field === field);
    await fails({ table, columns: { user: 'nope', item: 'item' } }, 'columns.user');
    await fails({ table, columns: { user: 'user', item: 'ts' } }, 'columns.item');
    await fails({ table, columns: { user: 'user', item: 'item', rating: 'user' } }, 'columns.rating');
    await fails({ table, columns: { user: 'user', item: 'item' }, hyperparameters: { embeddingSize: 0 } }, 'hyperparameters.embeddingSize');
    const single = { columns: table.columns, rows: table.rows.filter((r, i, all) => all.findIndex((o) => o['user'] === r['user']) === i) };
    await fails({ table: single, columns: { user: 'user', item: 'item' } }, 'columns.user');
  });

  it('per-epoch checkpoints: a run resumed after epoch 3 ends exactly as the uninterrupted one', async () => {
    const spec = {
      table: plantedTable(false, 2),
      columns: { user: 'user', item: 'item', timestamp: 'ts' },
      hyperparameters: { epochs: 6, earlyStoppingPatience: 0, embeddingSize: 8 },
    };
    const checkpoints: Buffer[] = [];
    const whole = await trainRecommender(spec, { onCheckpoint: (c) => void checkpoints.push(encodeCheckpoint(c)) });
    assert.equal(checkpoints.length, 6);
    assert.equal(decodeCheckpoint(checkpoints[2]!).epochsCompleted, 3);
    const epochsSeen: number[] = [];
    const resumed = await trainRecommender(spec, { resumeFrom: checkpoints[2], onProgress: (p) => void epochsSeen.push(p.epoch) });
    assert.deepEqual(epochsSeen, [4, 5, 6], 'only the epochs after the checkpoint run');
    assert.equal(resumed.resumedFromEpoch, 3);
    assert.equal(whole.resumedFromEpoch, 0);
    assert.deepEqual(resumed.history, whole.history);
    assert.deepEqual(resumed.metrics, whole.metrics);
    const table = (r: typeof whole) => Array.from(r.model.getLayer(USER_FACTORS_LAYER).getWeights()[0]!.dataSync());
    assert.deepEqual(table(resumed), table(whole));
    await assert.rejects(
      trainRecommender({ ...spec, hyperparameters: { ...spec.hyperparameters, seed: 7 } }, { resumeFrom: checkpoints[2] }),
      CheckpointMismatchError,
    );
    whole.model.dispose();
    resumed.model.dispose();
  });

  it('early stopping: stops `patience` epochs after the best validation NDCG and keeps that epoch', async () => {
    const r = await trainRecommender({
      table: plantedTable(false, 3),
      columns: { user: 'user', item: 'item', timestamp: 'ts' },
      hyperparameters: { epochs: 60, earlyStoppingPatience: 2, learningRate: 0.05 },
    });
    const ndcg = r.history.map((h) => h.valMetric);
    const best = ndcg.indexOf(Math.max(...ndcg)) + 1;
    assert.equal(r.stoppedEarly, true, `history ${ndcg.map((x) => x.toFixed(3)).join(' ')}`);
    assert.ok(r.epochsCompleted < 60);
    assert.equal(r.bestEpoch, best);
    assert.equal(r.epochsCompleted, best + 2);
    // the kept factors are the best epoch's: the final validation metric is that epoch's (300 users: all evaluated each epoch)
    assert.equal(r.metrics.validation.ndcgAtK, ndcg[best - 1]);
    r.model.dispose();
  });
});
