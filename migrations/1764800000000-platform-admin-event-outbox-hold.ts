import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Held admin events: a management call that commits a change and then queues its job holds the
 * change's events in the outbox (`held_until`) until the job is queued; the relay skips held rows. So
 * an event is never relayed for a change that is undone because its job could not be queued. A hold
 * that outlives its process (killed between commit and queueing) expires and the event is relayed.
 */
export class PlatformAdminEventOutboxHold1764800000000 implements MigrationInterface {
  name = 'PlatformAdminEventOutboxHold1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE admin_event_outbox ADD COLUMN held_until timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE admin_event_outbox DROP COLUMN held_until`);
  }
}
