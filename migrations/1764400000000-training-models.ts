import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Training jobs and the model registry: models, their immutable versions (artifacts in the artifact
 * store), aliases (`production`, `staging`, any name) and the alias history.
 */
export class TrainingModels1764400000000 implements MigrationInterface {
  name = 'TrainingModels1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE models (
        id uuid PRIMARY KEY,
        name varchar(128) NOT NULL,
        description text NULL,
        -- last version number handed out; incremented in the transaction that inserts a version
        version_count integer NOT NULL DEFAULT 0 CHECK (version_count >= 0),
        created_by varchar(200) NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT models_name_key UNIQUE (name)
      )`);
    await q.query(`
      CREATE TABLE training_jobs (
        id uuid PRIMARY KEY,
        status varchar(16) NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        dataset_version_id uuid NOT NULL REFERENCES dataset_versions (id),
        model_name varchar(128) NOT NULL,
        -- the validated request: target, task, positiveClass, features, template, hyperparameters, split
        spec jsonb NOT NULL,
        progress jsonb NULL,
        history jsonb NOT NULL DEFAULT '[]',
        metrics jsonb NULL,
        model_version_id uuid NULL,
        cancel_requested boolean NOT NULL DEFAULT false,
        checkpoint_sha256 char(64) NULL,
        checkpoint_epoch integer NULL,
        error_code varchar(64) NULL,
        error text NULL,
        attempts integer NOT NULL DEFAULT 0,
        created_by varchar(200) NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz NULL,
        finished_at timestamptz NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT training_jobs_succeeded_version CHECK (status <> 'succeeded' OR model_version_id IS NOT NULL),
        CONSTRAINT training_jobs_failed_error CHECK (status <> 'failed' OR error IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX training_jobs_created ON training_jobs (created_at DESC)`);
    await q.query(`
      CREATE TABLE model_versions (
        id uuid PRIMARY KEY,
        model_id uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version >= 1),
        source varchar(16) NOT NULL CHECK (source IN ('trained', 'imported')),
        status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
        format varchar(32) NOT NULL CHECK (format IN ('layers-model', 'graph-model')),
        task varchar(16) NULL,
        model_json_sha256 char(64) NOT NULL,
        weights_sha256 char(64) NOT NULL,
        signature jsonb NOT NULL,
        preprocessing jsonb NULL,
        target jsonb NULL,
        metrics jsonb NULL,
        lineage jsonb NOT NULL DEFAULT '{}',
        -- at most one version per training job: a retried or duplicated job cannot register twice
        training_job_id uuid NULL REFERENCES training_jobs (id),
        created_by varchar(200) NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT model_versions_number_key UNIQUE (model_id, version),
        CONSTRAINT model_versions_training_job_key UNIQUE (training_job_id)
      )`);
    await q.query(`
      ALTER TABLE training_jobs ADD CONSTRAINT training_jobs_model_version_fk
      FOREIGN KEY (model_version_id) REFERENCES model_versions (id)`);
    await q.query(`
      CREATE TABLE model_aliases (
        model_id uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        alias varchar(64) NOT NULL,
        model_version_id uuid NOT NULL REFERENCES model_versions (id),
        updated_by varchar(200) NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_id, alias)
      )`);
    await q.query(`
      CREATE TABLE model_alias_history (
        id bigserial PRIMARY KEY,
        model_id uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        alias varchar(64) NOT NULL,
        from_version integer NULL,
        to_version integer NULL,
        changed_by varchar(200) NULL,
        changed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX model_alias_history_alias ON model_alias_history (model_id, alias, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE model_alias_history`);
    await q.query(`DROP TABLE model_aliases`);
    await q.query(`ALTER TABLE training_jobs DROP CONSTRAINT training_jobs_model_version_fk`);
    await q.query(`DROP TABLE model_versions`);
    await q.query(`DROP TABLE training_jobs`);
    await q.query(`DROP TABLE models`);
  }
}
