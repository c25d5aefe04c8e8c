import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch scoring, trust slice: a dataset version records the job that produced it (`lineage`, null
 * for uploads), and a batch prediction keeps the client's `Idempotency-Key` with a hash of the
 * request it came with, so a repeated request is the same job.
 */
export class BatchScoringLineage1764740000000 implements MigrationInterface {
  name = 'BatchScoringLineage1764740000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE dataset_versions ADD COLUMN lineage jsonb`);
    await q.query(`ALTER TABLE batch_predictions ADD COLUMN idempotency_key varchar(255), ADD COLUMN request_sha256 char(64)`);
    await q.query(
      `CREATE UNIQUE INDEX batch_predictions_idempotency_key ON batch_predictions (idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX batch_predictions_idempotency_key`);
    await q.query(`ALTER TABLE batch_predictions DROP COLUMN idempotency_key, DROP COLUMN request_sha256`);
    await q.query(`ALTER TABLE dataset_versions DROP COLUMN lineage`);
  }
}
