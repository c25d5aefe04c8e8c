import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hash the chain heads start from, frozen here as a literal (a migration imports no live code): it
 * must equal `GENESIS_HASH` of src/audit/chain, which test/migrations/frozen-migrations.spec.ts checks.
 */
export const AUDIT_LOG_GENESIS_HASH = '0000000000000000000000000000000000000000000000000000000000000000';

/**
 * The audit log: the prediction log (`audit_predictions`, partitioned by day on `logged_at` so
 * retention drops whole partitions; the audit worker creates each day's partition on demand, there
 * is no default partition), the admin-event trail (`audit_events`) and the heads of both hash chains
 * (`audit_chain_heads`, seeded at seq 0 with the genesis hash; the writer locks a head row to append).
 * `request_id` cannot be UNIQUE on a partitioned table (a unique index must contain the partition
 * key): the writer enforces it under the chain-head lock.
 */
export class AuditLog1764600000000 implements MigrationInterface {
  name = 'AuditLog1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_predictions (
        seq bigint NOT NULL,
        logged_at timestamptz NOT NULL,
        request_id varchar(200) NOT NULL,
        served_at timestamptz NOT NULL,
        caller_key_id varchar(64) NULL,
        model varchar(128) NOT NULL,
        model_version integer NULL,
        route varchar(16) NOT NULL,
        kind varchar(16) NOT NULL,
        canary boolean NOT NULL,
        status smallint NOT NULL,
        latency_ms double precision NOT NULL,
        rows integer NOT NULL,
        inputs jsonb NULL,
        inputs_sha256 char(64) NOT NULL,
        outputs jsonb NULL,
        error text NULL,
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL,
        PRIMARY KEY (logged_at, seq)
      ) PARTITION BY RANGE (logged_at)`);
    await q.query(`CREATE INDEX audit_predictions_request_id ON audit_predictions (request_id)`);
    await q.query(`CREATE INDEX audit_predictions_model_served ON audit_predictions (model, model_version, served_at)`);
    await q.query(`CREATE INDEX audit_predictions_seq ON audit_predictions (seq)`);

    await q.query(`
      CREATE TABLE audit_events (
        seq bigint PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        at timestamptz NOT NULL,
        logged_at timestamptz NOT NULL,
        request_id varchar(200) NULL,
        actor_key_id varchar(64) NULL,
        action varchar(100) NOT NULL,
        target jsonb NOT NULL,
        before jsonb NULL,
        after jsonb NULL,
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_events_action_at ON audit_events (action, at)`);

    await q.query(`
      CREATE TABLE audit_chain_heads (
        chain varchar(32) PRIMARY KEY CHECK (chain IN ('predictions', 'events')),
        seq bigint NOT NULL CHECK (seq >= 0),
        hash char(64) NOT NULL
      )`);
    await q.query(`INSERT INTO audit_chain_heads (chain, seq, hash) VALUES ('predictions', 0, $1), ('events', 0, $1)`, [
      AUDIT_LOG_GENESIS_HASH,
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_chain_heads`);
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP TABLE audit_predictions`);
  }
}
