import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Change events for every replica: a row change that alters routing (an alias moved, a deployment or
 * serving settings changed) or an API key's standing (revoked, role changed, deleted) sends a
 * `NOTIFY kiln_events` with a small JSON payload. PostgreSQL delivers it when the change commits, to
 * every process listening (src/platform/events), whoever made the change: an API call, a training
 * worker thread promoting a version, another app, or SQL typed by an operator. Payloads name ids
 * only; listeners re-read what they need.
 */
/** The channel the triggers notify on (the live listener's constant is checked against this by a test). */
export const CHANGE_EVENTS_CHANNEL = 'kiln_events';

export class PlatformChangeEvents1764920000000 implements MigrationInterface {
  name = 'PlatformChangeEvents1764920000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION kiln_notify_routing() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        model uuid;
      BEGIN
        IF TG_OP = 'DELETE' THEN model := OLD.model_id; ELSE model := NEW.model_id; END IF;
        PERFORM pg_notify('${CHANGE_EVENTS_CHANNEL}', json_build_object('topic', 'routing', 'modelId', model)::text);
        RETURN NULL;
      END $$`);
    for (const table of ['model_aliases', 'model_deployments', 'model_serving_settings']) {
      await q.query(`
        CREATE TRIGGER ${table}_notify AFTER INSERT OR UPDATE OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION kiln_notify_routing()`);
    }
    // last_used_at is written about once a minute per key in use: that is not news.
    await q.query(`
      CREATE FUNCTION kiln_notify_api_key() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('${CHANGE_EVENTS_CHANNEL}', json_build_object('topic', 'api-key', 'id', OLD.id)::text);
        ELSIF NEW.revoked_at IS DISTINCT FROM OLD.revoked_at OR NEW.role IS DISTINCT FROM OLD.role
          OR NEW.secret_hash IS DISTINCT FROM OLD.secret_hash THEN
          PERFORM pg_notify('${CHANGE_EVENTS_CHANNEL}', json_build_object('topic', 'api-key', 'id', NEW.id)::text);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER api_keys_notify AFTER UPDATE OR DELETE ON api_keys
      FOR EACH ROW EXECUTE FUNCTION kiln_notify_api_key()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER api_keys_notify ON api_keys`);
    await q.query(`DROP FUNCTION kiln_notify_api_key()`);
    for (const table of ['model_aliases', 'model_deployments', 'model_serving_settings']) {
      await q.query(`DROP TRIGGER ${table}_notify ON ${table}`);
    }
    await q.query(`DROP FUNCTION kiln_notify_routing()`);
  }
}
