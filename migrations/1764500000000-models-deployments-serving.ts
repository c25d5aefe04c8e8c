import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Model registry, serving slice: a model's deployment (weighted routes to versions or aliases, and an
 * optional shadow version that gets a copy of the traffic) and its serving settings (dynamic
 * batching knobs), one row each per model. The inference runtime polls both (`routingSnapshot`).
 */
export class ModelsDeploymentsServing1764500000000 implements MigrationInterface {
  name = 'ModelsDeploymentsServing1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE model_deployments (
        model_id uuid PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
        -- [{"version": 4, "versionId": "…", "weight": 10} | {"alias": "production", "weight": 90}], in order;
        -- weights are relative. Versions routed here (and the shadow) cannot be archived.
        routes jsonb NOT NULL CHECK (jsonb_typeof(routes) = 'array' AND jsonb_array_length(routes) BETWEEN 1 AND 10),
        shadow_version_id uuid NULL REFERENCES model_versions (id),
        updated_by varchar(200) NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // archive checks "is this version a shadow?"; routes are checked per model (primary key).
    await q.query(`CREATE INDEX model_deployments_shadow ON model_deployments (shadow_version_id) WHERE shadow_version_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE model_serving_settings (
        model_id uuid PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
        max_batch_size integer NOT NULL CHECK (max_batch_size BETWEEN 1 AND 1024),
        max_queue_delay_ms integer NOT NULL CHECK (max_queue_delay_ms BETWEEN 0 AND 1000),
        max_queue_size integer NOT NULL CHECK (max_queue_size BETWEEN 1 AND 100000),
        timeout_ms integer NOT NULL CHECK (timeout_ms BETWEEN 1 AND 120000),
        updated_by varchar(200) NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE model_serving_settings`);
    await q.query(`DROP TABLE model_deployments`);
  }
}
