import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ground truth for logged live predictions (`POST /api/feedback`). One row per request id; the
 * label is immutable once stored (a conflicting second label is a 409, the same one is a no-op).
 * `actual` is always a JSON array with one normalised value per record of the request (class label
 * strings for classification, numbers for regression). No foreign key to `audit_predictions`: that
 * table is partitioned by time and its partitions expire. model / model_version are copied from the
 * prediction so quality queries need not join the whole log.
 */
export class AuditFeedback1764610000000 implements MigrationInterface {
  name = 'AuditFeedback1764610000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_feedback (
        request_id varchar(200) PRIMARY KEY,
        actual jsonb NOT NULL CHECK (jsonb_typeof(actual) = 'array'),
        received_at timestamptz NOT NULL DEFAULT now(),
        caller_key_id varchar(64) NULL,
        model varchar(128) NOT NULL,
        model_version integer NULL
      )`);
    await q.query(`CREATE INDEX audit_feedback_model ON audit_feedback (model, model_version, received_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_feedback`);
  }
}
