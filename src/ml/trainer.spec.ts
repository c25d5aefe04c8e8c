import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { TfRuntime } from '../platform/tfjs/tf-runtime';
import { loadLayersModelFromBytes, saveModelToBytes } from '../platform/tfjs/artifact-io';
import { BinaryMetrics, MulticlassMetrics, RegressionMetrics } from './metrics';
import { predictRecords } from './predict';
import { Preprocessor } from './preprocessing';
import { TrainResult, TrainSpec, train } from './trainer';
import { CheckpointMismatchError, decodeCheckpoint, encodeCheckpoint } from './checkpoint';
import { DataRecord, TrainingCancelledError } from './types';
import { carsMpg, moviesHighlyRated, penguinsSpecies } from '../../test/support/public-datasets';

/*
 * Trains on real public tables (vega-datasets; see testing/public-datasets.ts for the derived binary
 * target) and checks (1) a quality floor a trivial model cannot reach and (2) that every reported
 * metric equals a straightforward re-computation from the returned test predictions.
 */

// ---------- tiny reference implementations (deliberately naive, independent of metrics.ts) ----------

function refAuc(y: number[], p: number[]): number {
  // pairwise: P(score of a random positive > score of a random negative), ties count 1/2
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      wins += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

function refAveragePrecision(y: number[], p: number[]): number {
  // mean over positives of the precision among all rows scored at least as high
  const pos = y.map((v, i) => (v === 1 ? i : -1)).filter((i) => i >= 0);
  let s = 0;
  for (const i of pos) {
    const above = p.map((q, j) => j).filter((j) => p[j] >= p[i]);
    s += above.filter((j) => y[j] === 1).length / above.length;
  }
  return s / pos.length;
}

function refCounts(y: number[], yhat: number[]) {
  let tp = 0, fp = 0, tn = 0, fn = 0; // prettier-ignore
  y.forEach((v, i) => {
    if (v === 1 && yhat[i] === 1) tp++;
    else if (v === 0 && yhat[i] === 1) fp++;
    else if (v === 0) tn++;
    else fn++;
  });
  return { tp, fp, tn, fn };
}

function close(actual: number, expected: number, what: string, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs reference ${expected}`);
}

function featuresOnly(r: DataRecord, features: string[]): DataRecord {
  return Object.fromEntries(features.map((f) => [f, r[f] ?? null]));
}

// -------------------------------------------------------------------------------------------------------

describe('train() on public data', () => {
  before(async () => {
    await TfRuntime.initForTests();
  });

  let movies: TrainResult;
  const moviesData = moviesHighlyRated();

  it('binary, imbalanced (movies: IMDB ≥ 8, ~6.5% positives) with balanced class weights', async () => {
    movies = await train({
      table: moviesData.table,
      target: moviesData.target,
      hyperparameters: {
        epochs: 25,
        batchSize: 64,
        learningRate: 0.005,
        hiddenUnits: [32, 16],
        dropout: 0.1,
        earlyStoppingPatience: 4,
        classWeights: 'balanced',
        seed: 1,
      },
    });
    assert.equal(movies.task, 'binary');
    assert.equal(movies.target.positiveClass, 'true'); // minority by default
    const m = movies.metrics.test as BinaryMetrics;
    const tp = movies.testPredictions;
    const y: number[] = tp.yTrue.map((v) => (v === 'true' ? 1 : 0));
    const p = (tp.probabilities as number[][]).map((r) => r[1]);
    const baseRate = y.reduce((a, b) => a + b, 0) / y.length;
    assert.ok(baseRate < 0.1, `imbalanced: ${baseRate}`);

    // quality floor: a constant model has rocAuc 0.5, prAuc = base rate, f1 0 (majority) and log loss = H(base rate)
    assert.ok(m.rocAuc >= 0.85, `rocAuc ${m.rocAuc}`);
    assert.ok(m.prAuc >= 3 * baseRate, `prAuc ${m.prAuc} vs base rate ${baseRate}`);
    assert.ok(m.f1 >= 0.5, `f1 ${m.f1}`);
    const constantLogLoss = -(baseRate * Math.log(baseRate) + (1 - baseRate) * Math.log(1 - baseRate));
    assert.ok(m.logLoss < constantLogLoss, `logLoss ${m.logLoss} vs constant ${constantLogLoss}`);

    // metrics = independent recomputation from the stored test predictions
    const th = movies.target.threshold as number;
    assert.equal(m.threshold, th);
    const yhat = p.map((q) => (q >= th ? 1 : 0));
    assert.deepEqual(
      tp.yPred,
      yhat.map((v) => (v ? 'true' : 'false')),
    );
    const c = refCounts(y, yhat);
    close(m.rocAuc, refAuc(y, p), 'rocAuc');
    close(m.prAuc, refAveragePrecision(y, p), 'prAuc');
    close(m.logLoss, -y.reduce((s, v, i) => s + (v ? Math.log(p[i]) : Math.log(1 - p[i])), 0) / y.length, 'logLoss', 1e-6);
    close(m.accuracy, (c.tp + c.tn) / y.length, 'accuracy');
    close(m.precision, c.tp / (c.tp + c.fp), 'precision');
    close(m.recall, c.tp / (c.tp + c.fn), 'recall');
    close(m.f1, (2 * c.tp) / (2 * c.tp + c.fp + c.fn), 'f1');
    assert.deepEqual(m.confusionMatrix, {
      labels: ['false', 'true'],
      matrix: [
        [c.tn, c.fp],
        [c.fn, c.tp],
      ],
    });

    // the threshold is the max-F1 one on validation (recomputed through the serving path)
    const feats = movies.signature.features.map((f) => f.name);
    const valRows = movies.split.validation.map((i) => moviesData.table.rows[i]);
    const valPred = predictRecords(
      movies.model,
      movies.preprocessing,
      movies.target,
      valRows.map((r) => featuresOnly(r, feats)),
    );
    const yv = valRows.map((r) => (r.highlyRated ? 1 : 0));
    const pv = valPred.map((o) => (o.probabilities as Record<string, number>).true);
    const f1At = (t: number) => {
      const k = refCounts(
        yv,
        pv.map((q) => (q >= t ? 1 : 0)),
      );
      return (2 * k.tp) / (2 * k.tp + k.fp + k.fn);
    };
    const bestF1 = Math.max(...pv.map(f1At));
    close(f1At(th), bestF1, 'validation F1 at the chosen threshold');
    close((movies.metrics.validation as BinaryMetrics).f1, bestF1, 'validation f1');
  });

  it('parity: training-time test predictions = serving predictions after saving model + preprocessing', async () => {
    const bytes = await saveModelToBytes(movies.model);
    const stored = { modelJson: JSON.parse(JSON.stringify(bytes.modelJson)), weights: Buffer.from(bytes.weights) };
    const served = await loadLayersModelFromBytes(stored);
    const pre = Preprocessor.fromJSON(JSON.parse(JSON.stringify(movies.preprocessing)));
    const target = JSON.parse(JSON.stringify(movies.target));
    const feats = movies.signature.features.map((f) => f.name);
    const records = movies.testPredictions.rowIndices.map((i) => featuresOnly(moviesData.table.rows[i], feats));
    const out = predictRecords(served, pre, target, records);
    assert.deepEqual(
      out.map((o) => [(o.probabilities as Record<string, number>).false, (o.probabilities as Record<string, number>).true]),
      movies.testPredictions.probabilities,
    );
    assert.deepEqual(
      out.map((o) => o.label),
      movies.testPredictions.yPred,
    );
    // the saved model carries its own preprocessing and target
    const meta = served.getUserDefinedMetadata() as { kiln: { preprocessing: unknown; target: unknown } };
    assert.deepEqual(meta.kiln.preprocessing, movies.preprocessing);
    assert.deepEqual(meta.kiln.target, movies.target);
    // preprocessing was fitted on the training split only
    const rt = movies.preprocessing.features.find((f) => f.name === 'Rotten Tomatoes Rating');
    const obs = movies.split.train
      .map((i) => moviesData.table.rows[i]['Rotten Tomatoes Rating'])
      .filter((v): v is number => typeof v === 'number');
    assert.ok(rt && rt.kind === 'numeric');
    close(rt.mean, obs.reduce((a, b) => a + b, 0) / obs.length, 'train-split mean', 1e-9);
    served.dispose();
    movies.model.dispose();
  });

  it('multiclass (penguins species, categorical inputs with missing values)', async () => {
    const d = penguinsSpecies();
    const r = await train({
      table: d.table,
      target: d.target,
      hyperparameters: { epochs: 30, learningRate: 0.01, hiddenUnits: [16], seed: 3 },
    });
    assert.equal(r.task, 'multiclass');
    const m = r.metrics.test as MulticlassMetrics;
    const classes = r.target.classes as string[];
    const yTrue = r.testPredictions.yTrue as string[];
    const probs = r.testPredictions.probabilities as number[][];
    const yPred = probs.map((row) => classes[row.indexOf(Math.max(...row))]);
    assert.deepEqual(r.testPredictions.yPred, yPred);
    const majority = Math.max(...classes.map((c) => yTrue.filter((y) => y === c).length)) / yTrue.length;
    assert.ok(m.accuracy >= 0.9 && m.accuracy > majority + 0.3, `accuracy ${m.accuracy} (majority ${majority})`);
    assert.ok(m.macroF1 >= 0.9, `macroF1 ${m.macroF1}`);

    close(m.accuracy, yTrue.filter((y, i) => y === yPred[i]).length / yTrue.length, 'accuracy');
    let f1s = 0;
    for (const c of classes) {
      const tp = yTrue.filter((y, i) => y === c && yPred[i] === c).length;
      const predC = yPred.filter((y) => y === c).length;
      const trueC = yTrue.filter((y) => y === c).length;
      close(m.perClass[c].precision, predC ? tp / predC : 0, `precision ${c}`);
      close(m.perClass[c].recall, tp / trueC, `recall ${c}`);
      f1s += (2 * tp) / (predC + trueC);
    }
    close(m.macroF1, f1s / classes.length, 'macroF1');
    assert.deepEqual(
      m.confusionMatrix.matrix,
      classes.map((a) => classes.map((b) => yTrue.filter((y, i) => y === a && yPred[i] === b).length)),
    );
    r.model.dispose();
  });

  it('regression with categorical inputs and missing values (cars MPG); deterministic for a seed', async () => {
    const d = carsMpg();
    const spec: TrainSpec = {
      table: d.table,
      target: d.target,
      hyperparameters: { epochs: 40, learningRate: 0.01, hiddenUnits: [32, 16], dropout: 0.1, earlyStoppingPatience: 6, seed: 11 },
    };
    const r = await train(spec);
    assert.equal(r.task, 'regression');
    assert.equal(r.droppedRows, 8); // rows without Miles_per_Gallon
    assert.ok(r.preprocessing.outputNames.includes('Horsepower__missing'));
    assert.ok(r.preprocessing.outputNames.includes('Origin=Europe'));
    const m = r.metrics.test as RegressionMetrics;
    const y = r.testPredictions.yTrue as number[];
    const yhat = r.testPredictions.yPred as number[];
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const meanModelRmse = Math.sqrt(y.reduce((s, v) => s + (v - mean) ** 2, 0) / y.length);
    assert.ok(m.r2 >= 0.75, `r2 ${m.r2}`);
    assert.ok(m.rmse < 0.6 * meanModelRmse, `rmse ${m.rmse} vs mean model ${meanModelRmse}`);

    close(m.rmse, Math.sqrt(y.reduce((s, v, i) => s + (v - yhat[i]) ** 2, 0) / y.length), 'rmse');
    close(m.mae, y.reduce((s, v, i) => s + Math.abs(v - yhat[i]), 0) / y.length, 'mae');
    close(m.r2, 1 - y.reduce((s, v, i) => s + (v - yhat[i]) ** 2, 0) / y.reduce((s, v) => s + (v - mean) ** 2, 0), 'r2');
    // the served model outputs MPG directly (target scaling folded into the output layer)
    const feats = r.signature.features.map((f) => f.name);
    const again = predictRecords(
      r.model,
      r.preprocessing,
      r.target,
      r.testPredictions.rowIndices.map((i) => featuresOnly(d.table.rows[i], feats)),
    );
    assert.deepEqual(
      again.map((o) => o.value),
      yhat,
    );

    const r2 = await train(spec);
    assert.deepEqual(r2.metrics, r.metrics);
    assert.deepEqual(r2.testPredictions, r.testPredictions);
    assert.deepEqual(r2.history, r.history);
    r.model.dispose();
    r2.model.dispose();
  });
});

describe('train(): checkpoints, resume, cancellation', () => {
  before(async () => {
    await TfRuntime.initForTests();
  });
  const d = carsMpg();
  const spec: TrainSpec = {
    table: d.table,
    target: d.target,
    hyperparameters: { epochs: 8, learningRate: 0.01, hiddenUnits: [16], dropout: 0.2, earlyStoppingPatience: 0, seed: 5 },
  };

  it('a job killed after epoch k resumes from its last checkpoint and finishes exactly like an uninterrupted run', async () => {
    const full = await train(spec);
    // the "killed" run: the worker persists each checkpoint as bytes, then dies after epoch 3
    const stored: Buffer[] = [];
    const ctl = new AbortController();
    await assert.rejects(
      train(spec, {
        signal: ctl.signal,
        onCheckpoint: (c) => {
          stored.push(encodeCheckpoint(c));
          if (c.epochsCompleted === 3) ctl.abort();
        },
      }),
      (e: unknown) => e instanceof TrainingCancelledError && e.epoch === 4,
    );
    assert.equal(stored.length, 3);
    const last = stored[stored.length - 1];
    assert.equal(decodeCheckpoint(last).epochsCompleted, 3);

    const progress: number[] = [];
    const resumed = await train(spec, { resumeFrom: last, onProgress: (p) => void progress.push(p.epoch) });
    assert.deepEqual(progress, [4, 5, 6, 7, 8]);
    assert.equal(resumed.resumedFromEpoch, 3);
    assert.equal(resumed.epochsCompleted, 8);
    assert.deepEqual(resumed.history, full.history);
    assert.deepEqual(resumed.metrics, full.metrics);
    assert.ok((resumed.metrics.test as RegressionMetrics).r2 > 0.5);

    // a checkpoint from another spec is refused
    await assert.rejects(
      train({ ...spec, hyperparameters: { ...spec.hyperparameters, seed: 6 } }, { resumeFrom: last }),
      CheckpointMismatchError,
    );
    full.model.dispose();
    resumed.model.dispose();
  });

  it('cancellation mid-epoch stops at the next batch, rejects with TrainingCancelledError and frees tensors', async () => {
    const before = tf.memory().numTensors;
    const ctl = new AbortController();
    const movies = moviesHighlyRated();
    const epochs: number[] = [];
    const t0 = performance.now();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      ctl.abort();
    }, 400);
    await assert.rejects(
      train(
        { table: movies.table, target: movies.target, hyperparameters: { epochs: 200, batchSize: 8, earlyStoppingPatience: 0 } },
        { signal: ctl.signal, onProgress: (p) => void epochs.push(p.epoch) },
      ),
      (e: unknown) => e instanceof TrainingCancelledError && e.batch >= 0,
    );
    const stopped = performance.now();
    assert.ok(abortedAt > t0, 'abort fired while training');
    assert.ok(stopped - abortedAt < 1000, `stopped ${Math.round(stopped - abortedAt)} ms after the abort`);
    assert.ok(epochs.length < 200);
    // fit's per-epoch index tensor may be left behind when a callback throws; nothing model-sized leaks
    assert.ok(tf.memory().numTensors - before <= 2, `leaked ${tf.memory().numTensors - before} tensors`);
  });
});
