import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Transactional outbox for admin events: a management mutation inserts its event here in its own
 * transaction, so the change and its event commit together or not at all. A relay (audit domain)
 * moves the rows into the audit log (idempotently, by event id) and deletes them. `record` is the
 * AdminEventRecord as JSON text (JSON.stringify escapes every lone surrogate and control character,
 * so any JS string fits a text column; the audit writer applies the log's own encoding later).
 */
export class PlatformAdminEventOutbox1764720000000 implements MigrationInterface {
  name = 'PlatformAdminEventOutbox1764720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE admin_event_outbox (
        event_id uuid PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        record text NOT NULL
      )`);
    await q.query(`CREATE INDEX admin_event_outbox_created ON admin_event_outbox (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE admin_event_outbox`);
  }
}
