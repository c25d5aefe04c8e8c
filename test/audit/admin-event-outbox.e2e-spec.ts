/**
 * A management mutation and its admin event commit together or not at all (the admin-event outbox):
 * a hostile key name is a 400 that stores nothing; a failure injected into the event write (a
 * PostgreSQL trigger, no mocks) leaves neither the key nor an event; a normal creation and a
 * revocation leave exactly one event each, with actor, target and before/after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('admin events commit with their mutation (postgres)', { skip }, () => {
    let kiln: TestKiln;
    let db: Client;
    const adminKeyId = () => /^kiln_([A-Za-z0-9]{12})_/.exec(kiln.adminKey)![1];
    const keysNamed = async (name: string) => (await db.query(`SELECT id FROM api_keys WHERE name = $1`, [name])).rowCount;
    const keyCount = async () => (await db.query(`SELECT count(*)::int AS n FROM api_keys`)).rows[0].n as number;
    const eventsOf = async (requestId: string) =>
      (await db.query(`SELECT action, actor_key_id, target, before, after FROM audit_events WHERE request_id = $1`, [requestId])).rows;

    before(async () => {
      kiln = await startTestKiln('postgres');
      db = new Client({ connectionString: kiln.databaseUrl });
      await db.connect();
    });
    after(async () => {
      await db?.end();
      await kiln?.close();
    });

    it('refuses control characters and lone surrogates in a key name (400 naming name), storing nothing', async () => {
      const keys = await keyCount();
      for (const name of ['\ud800', 'a\u0000b', 'x\udc00y', 'tab\there', 'bell\u0007']) {
        const res = await kiln.request('POST', '/api/keys', { body: { name, role: 'predictor' } });
        assert.equal(res.status, 400, `${JSON.stringify(name)}: ${res.text}`);
        assert.ok(res.body.errors.some((e: { field: string }) => e.field === 'name'), res.text);
        assert.equal(await keyCount(), keys, 'nothing stored');
      }
      const emoji = await kiln.request('POST', '/api/keys', { body: { name: 'ci 🔑 ключ', role: 'predictor' } });
      assert.equal(emoji.status, 201, 'a surrogate pair (astral character) is fine');
      assert.equal(await keyCount(), keys + 1, 'only the valid one was stored');
    });

    it('a failure while storing the event leaves neither the key nor an event', async () => {
      const other = await kiln.request('POST', '/api/keys', { body: { name: 'victim', role: 'predictor' } });
      assert.equal(other.status, 201, other.text);
      await db.query(`CREATE FUNCTION kiln_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure after the mutation'; END $$`);
      await db.query(`CREATE TRIGGER kiln_test_fail BEFORE INSERT ON admin_event_outbox FOR EACH ROW EXECUTE FUNCTION kiln_test_fail()`);
      try {
        const res = await kiln.request('POST', '/api/keys', { body: { name: 'doomed', role: 'predictor' } });
        assert.ok(res.status >= 500, res.text);
        assert.equal(await keysNamed('doomed'), 0, 'the key was rolled back with its event');
        const requestId = res.headers.get('x-request-id')!;
        await new Promise((r) => setTimeout(r, 1500)); // > one relay pass
        assert.deepEqual(await eventsOf(requestId), []);
        // a revocation fails the same way: the key stays active
        const revoke = await kiln.request('DELETE', `/api/keys/${other.body.id}`);
        assert.ok(revoke.status >= 500, revoke.text);
        const row = await db.query(`SELECT revoked_at FROM api_keys WHERE id = $1`, [other.body.id]);
        assert.equal(row.rows[0].revoked_at, null, 'still active: the revocation rolled back with its event');
      } finally {
        await db.query(`DROP TRIGGER kiln_test_fail ON admin_event_outbox`);
        await db.query(`DROP FUNCTION kiln_test_fail()`);
      }
    });

    it('a creation and a revocation leave exactly one event each, and the outbox drains', async () => {
      const created = await kiln.request('POST', '/api/keys', { body: { name: 'exactly-once', role: 'auditor' } });
      assert.equal(created.status, 201, created.text);
      const revoked = await kiln.request('DELETE', `/api/keys/${created.body.id}`);
      assert.equal(revoked.status, 200, revoked.text);
      const again = await kiln.request('DELETE', `/api/keys/${created.body.id}`);
      assert.equal(again.status, 200, 'revoking twice is harmless');
      const [c] = await eventually(async () => {
        const rows = await eventsOf(created.headers.get('x-request-id')!);
        return rows.length ? rows : undefined;
      });
      const [r] = await eventually(async () => {
        const rows = await eventsOf(revoked.headers.get('x-request-id')!);
        return rows.length ? rows : undefined;
      });
      await new Promise((res) => setTimeout(res, 1500)); // a duplicate, if any, would be written by now
      assert.equal((await eventsOf(created.headers.get('x-request-id')!)).length, 1);
      assert.equal((await eventsOf(revoked.headers.get('x-request-id')!)).length, 1);
      assert.deepEqual(await eventsOf(again.headers.get('x-request-id')!), [], 'a revocation that changes nothing logs nothing');
      const all = await db.query(`SELECT action, target FROM audit_events WHERE target->>'id' = $1 ORDER BY seq`, [created.body.id]);
      assert.deepEqual(all.rows.map((e) => e.action), ['key.created', 'key.revoked']);
      assert.equal(c.action, 'key.created');
      assert.equal(c.actor_key_id, adminKeyId());
      assert.deepEqual(c.target, { id: created.body.id, keyId: created.body.keyId, name: 'exactly-once' });
      assert.equal(c.before, null);
      assert.equal(c.after.key, '[redacted]');
      assert.equal(c.after.role, 'auditor');
      assert.ok(!JSON.stringify(c).includes(created.body.key), 'the secret is not logged');
      assert.equal(r.action, 'key.revoked');
      assert.equal(r.before.revokedAt, null);
      assert.ok(r.after.revokedAt);
      const left = await db.query(`SELECT count(*)::int AS n FROM admin_event_outbox`);
      assert.equal(left.rows[0].n, 0, 'the relay emptied the outbox');
    });
  });
}

void main();
