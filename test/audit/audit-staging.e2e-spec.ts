/**
 * The audit log's durable intake on the machine's PostgreSQL: batches staged in `audit_staging`
 * (as every process's AuditSink stages them: one row per group commit) are chained by the audit
 * worker's chainer, in bulk, exactly once; a pass that fails half-way (a transient error on the log
 * insert) loses nothing; a row with a record breaking the contract does not hold back its
 * neighbours and stays visible (refused_at, refused); /metrics reports the backlog.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { AuditChainer } from '../../src/audit/log/audit-chainer.service';
import type { AuditPredictionRecord, AuditRecordBatchPayload } from '../../src/contracts';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { penguinRecords } from '../inference/inference-helpers';

function prediction(requestId: string, record: Record<string, unknown>): AuditPredictionRecord {
  return {
    requestId,
    clientRequestId: null,
    servedAt: new Date().toISOString(),
    callerKeyId: null,
    model: 'penguins',
    version: 1,
    route: 'record',
    kind: 'live',
    canary: false,
    status: 200,
    latencyMs: 1.25,
    rows: 1,
    inputs: [record],
    inputsSha256: null,
    outputs: [{ label: 'Adelie' }],
    error: null,
  };
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('audit staging and the chainer (postgres)', { skip }, () => {
    let kiln: TestKiln;
    let pg: Client;
    let chainer: AuditChainer;
    const tag = randomUUID().slice(0, 8);
    const penguins = penguinRecords(40, 0);

    const stage = async (payload: AuditRecordBatchPayload) => {
      const records = (payload.predictions?.length ?? 0) + (payload.events?.length ?? 0);
      const r = await pg.query(`INSERT INTO audit_staging (records, batch) VALUES ($1, $2) RETURNING id`, [
        records,
        JSON.stringify(payload),
      ]);
      return String(r.rows[0].id);
    };
    const storedIds = async (prefix: string) =>
      (await pg.query(`SELECT request_id FROM audit_predictions WHERE request_id LIKE $1 ORDER BY seq`, [`${prefix}%`])).rows.map(
        (r) => r.request_id as string,
      );
    const backlog = async () => {
      const text = await (await fetch(`${kiln.url}/metrics`)).text();
      const m = /^kiln_audit_staged_records (\d+)/m.exec(text);
      assert.ok(m, 'kiln_audit_staged_records is exported');
      return Number(m[1]);
    };

    before(async () => {
      kiln = await startTestKiln('postgres');
      chainer = kiln.app.get(AuditChainer);
      pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
    });

    after(async () => {
      chainer?.resume();
      await pg?.query(`DROP TRIGGER IF EXISTS staging_fail ON audit_predictions`).catch(() => undefined);
      await pg?.end();
      await kiln?.close();
    });

    it('chains staged batches once, in staging order, deletes them, and reports the backlog meanwhile', async () => {
      chainer.pause();
      const ids = penguins.map((_, i) => `${tag}-a-${String(i).padStart(2, '0')}`);
      // Four group commits; the last one repeats two records already staged (a producer's retry).
      for (let b = 0; b < 4; b++) {
        const slice = b < 3 ? ids.slice(b * 10, b * 10 + 10) : [...ids.slice(30), ids[0]!, ids[15]!];
        await stage({ payloadVersion: 1, predictions: slice.map((id) => prediction(id, penguins[ids.indexOf(id)]!)), events: [] });
      }
      await eventually(async () => {
        assert.equal(await backlog(), 42);
        return true;
      });
      assert.deepEqual(await storedIds(`${tag}-a-`), []);
      chainer.resume();
      const stored = await eventually(async () => {
        const s = await storedIds(`${tag}-a-`);
        assert.equal(s.length, 40);
        return s;
      });
      assert.deepEqual(stored, ids, 'every record once, seq in staging order');
      assert.equal((await pg.query(`SELECT count(*)::int AS n FROM audit_staging`)).rows[0].n, 0);
      assert.equal(await backlog(), 0);
      const inputs = (await pg.query(`SELECT inputs FROM audit_predictions WHERE request_id = $1`, [ids[7]])).rows[0].inputs;
      assert.deepEqual(inputs, [penguins[7]]);
    });

    it('a pass that fails half-way (transient error) is rolled back whole and retried: nothing lost, nothing twice', async () => {
      await pg.query(`CREATE OR REPLACE FUNCTION staging_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'transient failure for the test' USING ERRCODE = '40001'; END $$`);
      await pg.query(`CREATE TRIGGER staging_fail BEFORE INSERT ON audit_predictions FOR EACH ROW EXECUTE FUNCTION staging_fail()`);
      const ids = Array.from({ length: 6 }, (_, i) => `${tag}-b-${i}`);
      const headBefore = (await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq;
      await stage({ payloadVersion: 1, predictions: ids.slice(0, 3).map((id, i) => prediction(id, penguins[i]!)), events: [] });
      await stage({ payloadVersion: 1, predictions: ids.slice(3).map((id, i) => prediction(id, penguins[i]!)), events: [] });
      await new Promise((r) => setTimeout(r, 500)); // several passes fail meanwhile
      assert.equal((await pg.query(`SELECT count(*)::int AS n FROM audit_staging`)).rows[0].n, 2, 'still staged');
      assert.equal((await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq, headBefore);
      await pg.query(`DROP TRIGGER staging_fail ON audit_predictions`);
      await eventually(async () => {
        assert.deepEqual(await storedIds(`${tag}-b-`), ids);
        return true;
      });
      assert.equal((await pg.query(`SELECT count(*)::int AS n FROM audit_staging`)).rows[0].n, 0);
    });

    it('a row with a record breaking the contract: its valid records and its neighbours are written, it stays refused', async () => {
      chainer.pause();
      await stage({ payloadVersion: 1, predictions: [prediction(`${tag}-c-0`, penguins[0]!)], events: [] });
      const bad = await stage({
        payloadVersion: 1,
        predictions: [prediction(`${tag}-c-1`, penguins[1]!), { ...prediction(`${tag}-c-2`, penguins[2]!), servedAt: 'yesterday' }],
        events: [],
      });
      await stage({ payloadVersion: 1, predictions: [prediction(`${tag}-c-3`, penguins[3]!)], events: [] });
      chainer.resume();
      await eventually(async () => {
        assert.deepEqual(await storedIds(`${tag}-c-`), [`${tag}-c-0`, `${tag}-c-1`, `${tag}-c-3`]);
        return true;
      });
      const left = (await pg.query(`SELECT id, refused_at, refused FROM audit_staging`)).rows;
      assert.equal(left.length, 1);
      assert.equal(String(left[0].id), bad);
      assert.ok(left[0].refused_at instanceof Date);
      assert.match(left[0].refused, /predictions\[1\]\.servedAt: must be an ISO 8601 time/);
      assert.equal(await backlog(), 0, 'a refused row is not backlog');
      const verify = await kiln.request('GET', '/api/audit/verify');
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.ok, true, verify.text);
    });
  });
}

void main();
