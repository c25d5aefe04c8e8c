import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trust (issue 10). Drift: a skipped check is stored as a report with `status = 'skipped'` and its
 * `reason` (the verdict columns stay empty; a completed report still has them all). Audit log:
 * `audit_checkpoints` records the signed chain heads (Ed25519; the key is never in the database)
 * and the artifact each was exported to.
 */
export class AuditSkippedDriftCheckpoints1764710000000 implements MigrationInterface {
  name = 'AuditSkippedDriftCheckpoints1764710000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE drift_reports
      ADD COLUMN status varchar(16) NOT NULL DEFAULT 'completed' CHECK (status IN ('completed', 'skipped')),
      ADD COLUMN reason text NULL,
      ALTER COLUMN model_version DROP NOT NULL,
      ALTER COLUMN window_from DROP NOT NULL,
      ALTER COLUMN window_to DROP NOT NULL,
      ALTER COLUMN reference_dataset_version_id DROP NOT NULL,
      ALTER COLUMN drift DROP NOT NULL,
      ALTER COLUMN drifted_share DROP NOT NULL,
      ALTER COLUMN report DROP NOT NULL`);
    await q.query(`ALTER TABLE drift_reports ADD CONSTRAINT drift_reports_completed_or_skipped CHECK (
      (status = 'skipped' AND reason IS NOT NULL) OR
      (status = 'completed' AND model_version IS NOT NULL AND window_from IS NOT NULL AND window_to IS NOT NULL
        AND reference_dataset_version_id IS NOT NULL AND drift IS NOT NULL AND drifted_share IS NOT NULL AND report IS NOT NULL))`);
    await q.query(`
      CREATE TABLE audit_checkpoints (
        id uuid PRIMARY KEY,
        chain varchar(32) NOT NULL CHECK (chain IN ('predictions', 'events')),
        seq bigint NOT NULL CHECK (seq >= 0),
        hash char(64) NOT NULL,
        at timestamptz NOT NULL,
        -- the exact signed bytes (canonical JSON of {chain, seq, hash, at, keyId}) and the signature (base64)
        statement text NOT NULL,
        signature text NOT NULL,
        key_id char(64) NOT NULL,
        artifact_sha256 char(64) NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_checkpoints_chain_at ON audit_checkpoints (chain, at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_checkpoints`);
    await q.query(`DELETE FROM drift_reports WHERE status = 'skipped'`);
    await q.query(`ALTER TABLE drift_reports DROP CONSTRAINT drift_reports_completed_or_skipped`);
    for (const c of ['model_version', 'window_from', 'window_to', 'reference_dataset_version_id', 'drift', 'drifted_share', 'report']) {
      await q.query(`ALTER TABLE drift_reports ALTER COLUMN ${c} SET NOT NULL`);
    }
    await q.query(`ALTER TABLE drift_reports DROP COLUMN reason, DROP COLUMN status`);
  }
}
