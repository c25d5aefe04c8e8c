/**
 * kill -9 while a recommender trains, and resume (test/training/resume-suite.ts, the same path as
 * tabular jobs): template `recommender` on planted-group interactions, 40 epochs; the resumed model
 * still beats the popularity baseline.
 */
import assert from 'node:assert/strict';
import { createDataset, readyVersion } from '../ingestion/ingestion-helpers';
import { plantedInteractions } from '../support/planted-interactions';
import { resumeSuite } from '../training/resume-suite';
import { interactionsCsv } from './recommend-helpers';

void resumeSuite({
  what: 'recommender training',
  modelName: 'planted-resume',
  epochs: 40,
  job: async (kiln) => {
    const planted = plantedInteractions({ seed: 11 });
    const version = await readyVersion(kiln, await createDataset(kiln, 'planted'), interactionsCsv(planted.rows), {
      fileName: 'planted.csv',
    });
    return {
      template: 'recommender',
      datasetVersionId: version.id,
      columns: { user: 'user', item: 'item', timestamp: 'ts' },
      hyperparameters: { batchSize: 256, seed: 5, earlyStoppingPatience: 0 },
    };
  },
  checkDone: (done) => assert.ok(done.metrics.test.ndcgAtK > done.metrics.test.baseline.ndcgAtK, JSON.stringify(done.metrics.test)),
});
