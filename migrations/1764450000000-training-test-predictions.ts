import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The evaluated test split of a training job ({rowIndices, yTrue, yPred, probabilities?} as JSON in
 * the artifact store), so `metrics.test` can be recomputed independently of Kiln.
 */
export class TrainingTestPredictions1764450000000 implements MigrationInterface {
  name = 'TrainingTestPredictions1764450000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE training_jobs ADD COLUMN test_predictions_sha256 char(64) NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE training_jobs DROP COLUMN test_predictions_sha256`);
  }
}
