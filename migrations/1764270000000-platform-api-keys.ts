import { MigrationInterface, QueryRunner } from 'typeorm';

export class PlatformApiKeys1764270000000 implements MigrationInterface {
  name = 'PlatformApiKeys1764270000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        key_id varchar(32) NOT NULL UNIQUE,
        name varchar(200) NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('admin', 'developer', 'predictor', 'auditor')),
        secret_hash char(64) NOT NULL,
        created_by uuid NULL REFERENCES api_keys (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz NULL,
        last_used_at timestamptz NULL
      )`);
    await q.query(`CREATE INDEX api_keys_active_role ON api_keys (role) WHERE revoked_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys`);
  }
}
