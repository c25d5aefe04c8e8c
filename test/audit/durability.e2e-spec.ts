/**
 * The prediction log's durability promise, on the real process: `kill -9` of a serving Kiln under
 * load loses no record of any prediction whose response was received. Responses received are
 * counted by request id; after a restart (the audit worker drains what the queue kept) every one of
 * them is in `audit_predictions`, exactly once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import { spawnKiln, type SpawnedKiln } from '../utils/spawn-kiln';
import { eventually, httpRequest, kilnClient, skipUnless, testEnvironment } from '../utils/test-kiln';
import { penguinRecords, penguinsVersion, trainModel } from '../inference/inference-helpers';

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('prediction log durability across kill -9 on configuration "postgres"', { skip }, () => {
    let env: Record<string, string>;
    let cleanup: () => Promise<void> = async () => undefined;
    let kiln: SpawnedKiln | null = null;
    after(async () => {
      kiln?.child.kill('SIGKILL');
      await kiln?.exited;
      await cleanup();
    });

    it('every answered prediction has its record after a kill -9 and a restart', async () => {
      ({ env, cleanup } = await testEnvironment('postgres'));
      kiln = spawnKiln(env);
      let url = await kiln.url;
      const api = kilnClient(url, env.KILN_ADMIN_KEY!);
      const data = await penguinsVersion(api);
      await trainModel(api, { datasetVersionId: data.id, modelName: 'durable', target: 'Species', promote: 'always' });
      const records = penguinRecords(20);

      const answered: string[] = [];
      let sent = 0;
      let stop = false;
      const client = async (c: number) => {
        for (let i = 0; !stop; i++) {
          const id = `kill9-${c}-${i}`;
          sent++;
          try {
            const r = await httpRequest(url, env.KILN_ADMIN_KEY!, 'POST', '/api/models/durable/predict', {
              body: { records: [records[i % records.length]] },
              headers: { 'x-request-id': id },
            });
            if (r.status === 200) {
              assert.equal(r.body.requestId, r.headers.get('x-request-id'));
              answered.push(r.body.requestId);
            }
          } catch {
            return; // the process is gone
          }
        }
      };
      const clients = Array.from({ length: 16 }, (_, c) => client(c));
      await eventually(
        async () => {
          assert.ok(answered.length >= 300, `${answered.length} answered of ${sent} sent`);
          return true;
        },
        30_000,
        10,
      );
      kiln.child.kill('SIGKILL');
      await kiln.exited;
      stop = true;
      await Promise.all(clients);
      assert.ok(answered.length >= 300, `${answered.length} answered before the kill`);

      // Restart on the same database and queue: the audit worker writes what the queue kept.
      kiln = spawnKiln(env);
      url = await kiln.url;
      const db = new Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      try {
        const stored = await eventually(
          async () => {
            const r = await db.query<{ request_id: string }>(
              `SELECT request_id FROM audit_predictions WHERE client_request_id LIKE 'kill9-%'`,
            );
            const ids = new Set(r.rows.map((x) => x.request_id));
            const missing = answered.filter((id) => !ids.has(id));
            assert.equal(
              missing.length,
              0,
              `${missing.length} of ${answered.length} answered predictions have no record yet (${ids.size} stored)`,
            );
            return r.rows;
          },
          30_000,
          200,
        );
        const ids = stored.map((r) => r.request_id);
        assert.equal(new Set(ids).size, ids.length, 'no record twice');
        assert.ok(ids.length <= sent, 'no record for a request never sent');
        const missing = answered.filter((id) => !ids.includes(id));
        assert.deepEqual(missing, []);
        const verify = await httpRequest(url, env.KILN_ADMIN_KEY!, 'GET', '/api/audit/verify');
        assert.equal(verify.status, 200, verify.text);
        assert.equal(verify.body.ok, true, verify.text);
      } finally {
        await db.end();
      }
    });
  });
}

void main();
