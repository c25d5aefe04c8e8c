import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Diagnostics-audit, drift slice: one row per drift check of a served model (the per-feature
 * results, the dataset-level verdict and what was done about it, in `report`), and each model's
 * drift settings (the optional closed loop: retrain from a dataset's latest ready version on drift).
 * Rows are keyed by model name, not id: reports outlive nothing but the name, and read paths
 * (API, /metrics, monitoring page) look them up by name.
 */
export class AuditDrift1764620000000 implements MigrationInterface {
  name = 'AuditDrift1764620000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE drift_reports (
        id uuid PRIMARY KEY,
        model varchar(128) NOT NULL,
        model_version integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- served_at of the oldest and newest logged prediction in the window
        window_from timestamptz NOT NULL,
        window_to timestamptz NOT NULL,
        rows integer NOT NULL CHECK (rows >= 0),
        reference_dataset_version_id uuid NOT NULL,
        -- dataset-level verdict: at least the configured share of the tested features drifted
        drift boolean NOT NULL,
        drifted_share double precision NOT NULL CHECK (drifted_share BETWEEN 0 AND 1),
        report jsonb NOT NULL
      )`);
    await q.query(`CREATE INDEX drift_reports_model_created ON drift_reports (model, created_at DESC)`);
    await q.query(`
      CREATE TABLE drift_settings (
        model varchar(128) PRIMARY KEY,
        -- {"retrainFromDatasetId": "…", "promote": "if-better"} or null (no closed loop)
        on_drift jsonb NULL CHECK (on_drift IS NULL OR jsonb_typeof(on_drift) = 'object'),
        updated_by varchar(200) NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE drift_settings`);
    await q.query(`DROP TABLE drift_reports`);
  }
}
