/**
 * The recommender on a real public ratings table: MovieLens (100 004 ratings, 671 users, 9 066
 * movies) from Debian's r-cran-dslabs, converted at test time (test/support/movielens.ts) and never
 * committed. Skips with a loud message when R or the package is missing. Runs the ML kernel directly
 * (the API path is covered on the planted set): minutes on a busy 2-core machine.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { trainRecommender, type Table } from '../../src/ml';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { MOVIELENS_SOURCE, movielensRatings, movielensUnavailable } from '../support/movielens';

const missing = movielensUnavailable();
if (missing) console.warn(`\n*** SKIPPING the MovieLens recommender test: ${missing} ***\n`);

describe(`recommender on MovieLens (${MOVIELENS_SOURCE})`, { skip: missing ?? false }, () => {
  let table: Table;
  before(async () => {
    await TfRuntime.initForTests();
    table = movielensRatings();
    assert.equal(table.rows.length, 100_004);
  });

  it('implicit feedback (BPR, newest ratings of each user held out): NDCG@10 above popularity by ≥ 15 %', async () => {
    const r = await trainRecommender({
      table,
      columns: { user: 'userId', item: 'movieId', timestamp: 'timestamp' },
      hyperparameters: { batchSize: 2048, epochs: 10, l2: 0.01 },
    });
    const t = r.metrics.test;
    console.log(
      `MovieLens implicit: NDCG@10 ${t.ndcgAtK.toFixed(4)} vs popularity ${t.baseline.ndcgAtK.toFixed(4)} ` +
        `(×${(t.ndcgAtK / t.baseline.ndcgAtK).toFixed(2)}), recall@10 ${t.recallAtK.toFixed(4)} vs ${t.baseline.recallAtK.toFixed(4)}, ` +
        `coverage ${t.coverage.toFixed(3)} vs ${t.baseline.coverage.toFixed(3)}, ${t.users} users`,
    );
    assert.equal(r.split.by, 'time');
    assert.equal(t.users, 671);
    assert.ok(t.ndcgAtK >= 1.15 * t.baseline.ndcgAtK, `NDCG@10 ${t.ndcgAtK} vs popularity ${t.baseline.ndcgAtK}`);
    r.model.dispose();
  });

  it('explicit ratings: RMSE below the item-mean baseline', async () => {
    const r = await trainRecommender({
      table,
      columns: { user: 'userId', item: 'movieId', rating: 'rating', timestamp: 'timestamp' },
      hyperparameters: { batchSize: 2048, epochs: 10, l2: 0.05 },
    });
    const t = r.metrics.test;
    console.log(`MovieLens explicit: RMSE ${t.rmse!.toFixed(4)} vs item mean ${t.baseline.rmse!.toFixed(4)}`);
    assert.ok(t.rmse! < t.baseline.rmse!, `rmse ${t.rmse} vs ${t.baseline.rmse}`);
    r.model.dispose();
  });
});
