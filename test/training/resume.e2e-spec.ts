/**
 * kill -9 during a tabular training job and resume (test/training/resume-suite.ts): a regression on
 * vega-datasets cars, 100 epochs.
 */
import assert from 'node:assert/strict';
import { createDataset, readyVersion, toCsv, vegaFile, type JsonRow } from '../ingestion/ingestion-helpers';
import { resumeSuite } from './resume-suite';

void resumeSuite({
  what: 'training',
  modelName: 'cars-resume',
  epochs: 100,
  job: async (kiln) => {
    const cars = (JSON.parse(vegaFile('cars.json').toString('utf8')) as JsonRow[]).map((c) => ({
      Origin: c.Origin ?? null,
      Horsepower: c.Horsepower ?? null,
      Weight_in_lbs: c.Weight_in_lbs ?? null,
      Cylinders: c.Cylinders ?? null,
      Miles_per_Gallon: c.Miles_per_Gallon ?? null,
    }));
    const version = await readyVersion(kiln, await createDataset(kiln, 'cars'), toCsv(cars), { fileName: 'cars.csv' });
    return {
      datasetVersionId: version.id,
      target: 'Miles_per_Gallon',
      hyperparameters: { batchSize: 8, learningRate: 0.001, hiddenUnits: [32, 16], seed: 5, earlyStoppingPatience: 10_000 },
    };
  },
  checkDone: (done) => assert.ok(Number.isFinite(done.metrics.test.rmse)),
});
