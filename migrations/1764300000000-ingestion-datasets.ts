import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ingestion: datasets and their immutable versions. Rows live in the artifact store (Arrow IPC);
 * the database keeps the metadata, columns, profile and the first errors.
 */
export class IngestionDatasets1764300000000 implements MigrationInterface {
  name = 'IngestionDatasets1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE datasets (
        id uuid PRIMARY KEY,
        name varchar(128) NOT NULL,
        description text NULL,
        -- last version number handed out; incremented in the transaction that inserts a version
        version_count integer NOT NULL DEFAULT 0 CHECK (version_count >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT datasets_name_key UNIQUE (name)
      )`);
    await q.query(`
      CREATE TABLE dataset_versions (
        id uuid PRIMARY KEY,
        dataset_id uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version >= 1),
        status varchar(16) NOT NULL CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
        source_kind varchar(16) NOT NULL CHECK (source_kind IN ('upload', 'records', 'queue')),
        file_name varchar(500) NULL,
        format varchar(32) NULL,
        raw_sha256 char(64) NOT NULL,
        raw_size_bytes bigint NULL,
        options jsonb NOT NULL DEFAULT '{}',
        rows_processed bigint NOT NULL DEFAULT 0,
        row_count bigint NULL,
        total_rows bigint NULL,
        dropped_rows bigint NULL,
        columns jsonb NULL,
        profile jsonb NULL,
        errors jsonb NOT NULL DEFAULT '[]',
        error_count bigint NOT NULL DEFAULT 0,
        content_hash char(64) NULL,
        data_size_bytes bigint NULL,
        failure_code varchar(64) NULL,
        failure_field varchar(200) NULL,
        failure_reason text NULL,
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz NULL,
        finished_at timestamptz NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT dataset_versions_number_key UNIQUE (dataset_id, version),
        CONSTRAINT dataset_versions_ready_complete CHECK (
          status <> 'ready' OR (content_hash IS NOT NULL AND row_count IS NOT NULL AND columns IS NOT NULL AND profile IS NOT NULL)
        ),
        CONSTRAINT dataset_versions_failed_reason CHECK (status <> 'failed' OR failure_reason IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX dataset_versions_unfinished ON dataset_versions (created_at) WHERE status IN ('pending', 'processing')`);
    await q.query(`CREATE INDEX dataset_versions_content_hash ON dataset_versions (content_hash) WHERE content_hash IS NOT NULL`);
    // Immutability in the database itself: a ready or failed version never changes again.
    await q.query(`
      CREATE FUNCTION dataset_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.status IN ('ready', 'failed') THEN
          RAISE EXCEPTION 'dataset version % is % and immutable', OLD.id, OLD.status USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER dataset_versions_immutable BEFORE UPDATE ON dataset_versions
      FOR EACH ROW EXECUTE FUNCTION dataset_versions_immutable()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dataset_versions`);
    await q.query(`DROP FUNCTION dataset_versions_immutable()`);
    await q.query(`DROP TABLE datasets`);
  }
}
