import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch predictions (`POST /api/batch-predictions`): one row per job on the `batch-inference` queue,
 * the source of truth for its status, resolved model version, progress and output dataset version.
 */
export class InferenceBatchPredictions1764510000000 implements MigrationInterface {
  name = 'InferenceBatchPredictions1764510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE batch_predictions (
        id uuid PRIMARY KEY,
        status varchar(16) NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        phase varchar(16) NULL CHECK (phase IN ('scoring', 'ingesting')),
        model_name varchar(128) NOT NULL,
        requested_version integer NULL CHECK (requested_version >= 1),
        requested_alias varchar(64) NULL,
        model_version integer NULL,
        model_version_id uuid NULL REFERENCES model_versions (id),
        dataset_version_id uuid NOT NULL REFERENCES dataset_versions (id),
        output_dataset_id uuid NOT NULL REFERENCES datasets (id),
        -- no foreign key: fixed here before the ingestion worker creates that version row
        output_dataset_version_id uuid NULL,
        output_artifact_sha256 char(64) NULL,
        prediction_columns jsonb NULL,
        chunk_size integer NOT NULL CHECK (chunk_size >= 1),
        rows_processed bigint NOT NULL DEFAULT 0,
        total_rows bigint NULL,
        cancel_requested boolean NOT NULL DEFAULT false,
        error_code varchar(64) NULL,
        error text NULL,
        attempts integer NOT NULL DEFAULT 0,
        created_by varchar(200) NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz NULL,
        finished_at timestamptz NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT batch_predictions_one_selector CHECK (requested_version IS NULL OR requested_alias IS NULL),
        CONSTRAINT batch_predictions_succeeded_output CHECK (status <> 'succeeded' OR output_dataset_version_id IS NOT NULL),
        CONSTRAINT batch_predictions_failed_error CHECK (status <> 'failed' OR error IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX batch_predictions_created ON batch_predictions (created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE batch_predictions`);
  }
}
