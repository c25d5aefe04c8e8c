import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch recommendations: a batch prediction job of a recommender version (template `recommender`)
 * writes each user's top-K list instead of prediction columns. `recommend` holds the job's options
 * (k, filterSeen, exclude) and, once the job starts, the user column and id types of the output.
 * Null for every batch prediction of a tabular model.
 */
export class BatchPredictionsRecommend1764970000000 implements MigrationInterface {
  name = 'BatchPredictionsRecommend1764970000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE batch_predictions ADD COLUMN recommend jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE batch_predictions DROP COLUMN recommend`);
  }
}
