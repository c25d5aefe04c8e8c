import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { TfRuntime } from '../../platform/tfjs/tf-runtime';
import * as ml from '../../ml';
// test fixture of the engine (public vega-datasets tables), not part of the training facade
import { carsMpg, moviesHighlyRated, penguinsSpecies, PublicDataset } from '../../../test/support/public-datasets';
import { DataRecord } from '../../ml/types';
import { ExplainInputError, Explanation, defaultBaseline, explainRecords } from './index';

/*
 * Integrated gradients on models the engine trains on real public tables: penguins species (multiclass
 * mlp), movies IMDB ≥ 8 (binary mlp, numeric features with missing-value indicators, categoricals),
 * cars MPG (linear regression). Checks completeness, parity with predictRecords, an independent
 * weight·(x − b) computation for the linear model, the baseline itself, and tensor hygiene.
 */

interface Trained {
  data: PublicDataset;
  result: ml.TrainResult;
  pre: ml.Preprocessor;
  /** Test-split records with the model's features only. */
  records: DataRecord[];
}

async function trainOn(data: PublicDataset, spec: Partial<ml.TrainSpec>, rows: number): Promise<Trained> {
  const result = await ml.train({ table: data.table, target: data.target, ...spec });
  const feats = result.signature.features.map((f) => f.name);
  const records = result.testPredictions.rowIndices
    .slice(0, rows)
    .map((i) => Object.fromEntries(feats.map((f) => [f, data.table.rows[i][f] ?? null])));
  return { data, result, pre: ml.Preprocessor.fromJSON(result.preprocessing), records };
}

/** Runs explainRecords and asserts it leaves no tensor behind. */
function explain(t: Trained, records: DataRecord[], opts?: Parameters<typeof explainRecords>[5]): Explanation[] {
  const x = t.pre.transform(records);
  const before = tf.memory().numTensors;
  const out = explainRecords(t.result.model, t.result.preprocessing, t.result.target, x, records.length, opts);
  assert.equal(tf.memory().numTensors, before, 'explainRecords leaked tensors');
  return out;
}

function sum(e: Explanation): number {
  return Object.values(e.attributions).reduce((a, b) => a + b, 0);
}

/** Completeness: attributions add up to prediction − baseline, 1e-3 relative (plus float32 noise). */
function assertComplete(e: Explanation, what: string): void {
  const diff = e.prediction - e.baseline;
  assert.ok(Math.abs(e.delta - (sum(e) - diff)) < 1e-12, `${what}: delta is sum − (prediction − baseline)`);
  assert.ok(Math.abs(e.delta) <= 1e-3 * Math.abs(diff) + 1e-6, `${what}: sum ${sum(e)} vs prediction − baseline ${diff}`);
}

/** The baseline written as a record: numbers at their training mean, categoricals at vocabulary[0], booleans at the fill. */
function typicalRecord(spec: ml.PreprocessingSpec): DataRecord {
  return Object.fromEntries(
    spec.features.map((f) => [f.name, f.kind === 'numeric' ? f.mean : f.kind === 'boolean' ? f.fill === 1 : (f.vocabulary[0] ?? null)]),
  );
}

describe('explainRecords (integrated gradients)', () => {
  let penguins: Trained;
  let movies: Trained;
  let cars: Trained;

  before(async () => {
    await TfRuntime.initForTests();
    penguins = await trainOn(penguinsSpecies(), { hyperparameters: { epochs: 15, learningRate: 0.01, hiddenUnits: [16], seed: 3 } }, 30);
    movies = await trainOn(
      moviesHighlyRated(),
      { hyperparameters: { epochs: 4, batchSize: 64, learningRate: 0.005, hiddenUnits: [32, 16], seed: 1 } },
      30,
    );
    cars = await trainOn(carsMpg(), { template: 'linear', hyperparameters: { epochs: 20, learningRate: 0.05, seed: 5 } }, 30);
  });

  after(() => {
    for (const t of [penguins, movies, cars]) t?.result.model.dispose();
  });

  it('multiclass mlp: explains the predicted class, completeness holds, prediction = predictRecords', () => {
    const ex = explain(penguins, penguins.records);
    const pred = ml.predictRecords(penguins.result.model, penguins.pre, penguins.result.target, penguins.records);
    const features = penguins.result.preprocessing.features.map((f) => f.name);
    assert.equal(ex.length, penguins.records.length);
    ex.forEach((e, i) => {
      assert.equal(e.method, 'integrated-gradients');
      assert.equal(e.steps, 64);
      assert.equal(e.output, `probability:${pred[i].label}`);
      assert.deepEqual(Object.keys(e.attributions), features);
      const p = (pred[i].probabilities as Record<string, number>)[pred[i].label as string];
      assert.ok(Math.abs(e.prediction - p) < 1e-6, `row ${i}: prediction ${e.prediction} vs predictRecords ${p}`);
      assertComplete(e, `row ${i}`);
    });
    // rows are explained for different classes, and the explanation moves the probability
    assert.ok(new Set(ex.map((e) => e.output)).size >= 2, 'test rows of several predicted classes');
    assert.ok(ex.some((e) => Math.abs(e.prediction - e.baseline) > 0.3));
  });

  it('the baseline output is the model output at the default baseline, which is the typical record', () => {
    const spec = penguins.result.preprocessing;
    const b = defaultBaseline(spec);
    assert.deepEqual(b, penguins.pre.transform([typicalRecord(spec)]));
    const ex = explain(penguins, penguins.records.slice(0, 5), { outputClass: 'Gentoo' });
    const atBaseline = ml.predictRecords(penguins.result.model, penguins.pre, penguins.result.target, [typicalRecord(spec)])[0];
    const pb = (atBaseline.probabilities as Record<string, number>).Gentoo;
    for (const e of ex) {
      assert.equal(e.output, 'probability:Gentoo');
      assert.ok(Math.abs(e.baseline - pb) < 1e-6, `baseline ${e.baseline} vs model at the typical record ${pb}`);
      assertComplete(e, 'Gentoo');
    }
  });

  it('a feature at its baseline value gets 0; the baseline itself gets all zeros', () => {
    const spec = penguins.result.preprocessing;
    const typical = typicalRecord(spec);
    const island = spec.features.find((f) => f.kind === 'categorical' && f.name === 'Island');
    const beak = spec.features.find((f) => f.kind === 'numeric' && f.name === 'Beak Length (mm)');
    assert.ok(island && island.kind === 'categorical' && beak && beak.kind === 'numeric');
    const records = penguins.records.slice(0, 10).map((r) => ({ ...r, Island: island.vocabulary[0], 'Beak Length (mm)': beak.mean }));
    for (const e of explain(penguins, records)) {
      assert.ok(e.attributions.Island === 0, `Island: ${e.attributions.Island}`);
      assert.ok(e.attributions['Beak Length (mm)'] === 0, `Beak Length: ${e.attributions['Beak Length (mm)']}`);
      assert.ok(
        Object.values(e.attributions).some((a) => Math.abs(a) > 1e-3),
        'other features still carry the difference',
      );
      assertComplete(e, 'partly at baseline');
    }
    const [atBase] = explain(penguins, [typical]);
    assert.ok(Math.abs(atBase.prediction - atBase.baseline) < 1e-7);
    assert.ok(Object.values(atBase.attributions).every((a) => a === 0));
  });

  it('binary mlp: explains P(positive class); the negative class gives the mirrored explanation', () => {
    const target = movies.result.target;
    assert.equal(target.positiveClass, 'true');
    const ex = explain(movies, movies.records);
    const neg = explain(movies, movies.records, { outputClass: 'false' });
    const pred = ml.predictRecords(movies.result.model, movies.pre, target, movies.records);
    ex.forEach((e, i) => {
      assert.equal(e.output, 'probability:true');
      const p = (pred[i].probabilities as Record<string, number>).true;
      assert.ok(Math.abs(e.prediction - p) < 1e-6, `row ${i}: prediction ${e.prediction} vs predictRecords ${p}`);
      assertComplete(e, `row ${i}`);
      assert.equal(neg[i].output, 'probability:false');
      assert.ok(Math.abs(neg[i].prediction - (1 - p)) < 1e-6);
      for (const [f, a] of Object.entries(e.attributions))
        assert.ok(Math.abs(neg[i].attributions[f] + a) < 1e-6, `${f}: ${neg[i].attributions[f]} vs −${a}`);
    });
    // missing values: the indicator column's share is in its feature's attribution
    const withMissing = movies.result.preprocessing.features.filter((f) => f.kind === 'numeric' && f.missingIndicator).map((f) => f.name);
    assert.ok(withMissing.length > 0 && withMissing.every((f) => f in ex[0].attributions));
  });

  it('attributions converge: 64 steps agree with 256 steps per feature', () => {
    const rows = movies.records.slice(0, 10);
    const a = explain(movies, rows);
    const b = explain(movies, rows, { steps: 256 });
    a.forEach((e, i) => {
      const scale = Math.max(...Object.values(b[i].attributions).map(Math.abs));
      for (const [f, v] of Object.entries(e.attributions)) {
        assert.ok(Math.abs(v - b[i].attributions[f]) <= 1e-3 * scale + 1e-6, `row ${i} ${f}: ${v} (64) vs ${b[i].attributions[f]} (256)`);
      }
    });
  });

  it('linear regression: attribution of each feature = Σ weight·(x − baseline) over its columns, computed from the weights', () => {
    const spec = cars.result.preprocessing;
    const model = cars.result.model;
    const [kernelT, biasT] = model.getWeights();
    const kernel = kernelT.dataSync();
    const bias = biasT.dataSync()[0];
    assert.equal(kernel.length, spec.width);
    const b = defaultBaseline(spec);
    const x = cars.pre.transform(cars.records);
    const ex = explain(cars, cars.records);
    const pred = ml.predictRecords(model, cars.pre, cars.result.target, cars.records);
    const columnsOf = (f: string) =>
      spec.outputNames.map((n, j) => (n === f || n === `${f}__missing` || n.startsWith(`${f}=`) ? j : -1)).filter((j) => j >= 0);
    let baseline = bias;
    for (let j = 0; j < spec.width; j++) baseline += kernel[j] * b[j];
    ex.forEach((e, i) => {
      assert.equal(e.output, 'value');
      assert.ok(Math.abs(e.prediction - (pred[i].value as number)) < 1e-4, `row ${i}: ${e.prediction} vs predictRecords ${pred[i].value}`);
      assert.ok(Math.abs(e.baseline - baseline) < 1e-3, `baseline ${e.baseline} vs w·b + bias ${baseline}`);
      for (const f of spec.features) {
        const expected = columnsOf(f.name).reduce((s, j) => s + kernel[j] * (x[i * spec.width + j] - b[j]), 0);
        assert.ok(
          Math.abs(e.attributions[f.name] - expected) < 1e-4 * (1 + Math.abs(expected)),
          `row ${i} ${f.name}: ${e.attributions[f.name]} vs ${expected}`,
        );
      }
      assertComplete(e, `row ${i}`);
    });
    assert.ok(
      spec.features.some((f) => f.kind === 'categorical'),
      'one-hot columns are summed into their feature',
    );
  });

  it('rejects out-of-range options and sizes naming the field', () => {
    const { model, preprocessing, target } = penguins.result;
    const x = penguins.pre.transform(penguins.records.slice(0, 2));
    const rejects = (field: string, run: () => unknown) =>
      assert.throws(run, (e: unknown) => e instanceof ExplainInputError && e.field === field, `expected ExplainInputError on ${field}`);
    const before = tf.memory().numTensors;
    rejects('steps', () => explainRecords(model, preprocessing, target, x, 2, { steps: 0 }));
    rejects('steps', () => explainRecords(model, preprocessing, target, x, 2, { steps: 257 }));
    rejects('steps', () => explainRecords(model, preprocessing, target, x, 2, { steps: 1.5 }));
    rejects('rows', () => explainRecords(model, preprocessing, target, new Float32Array(101 * preprocessing.width), 101));
    rejects('x', () => explainRecords(model, preprocessing, target, x, 3));
    rejects('baseline', () => explainRecords(model, preprocessing, target, x, 2, { baseline: new Float32Array(3) }));
    rejects('outputClass', () => explainRecords(model, preprocessing, target, x, 2, { outputClass: 'Emperor' }));
    rejects('outputClass', () =>
      explainRecords(cars.result.model, cars.result.preprocessing, cars.result.target, cars.pre.transform(cars.records.slice(0, 1)), 1, {
        outputClass: 'x',
      }),
    );
    assert.equal(tf.memory().numTensors, before);
  });
});
