/**
 * The audit log's durable intake on the machine's PostgreSQL: batches staged in `audit_staging`
 * (as every process's AuditSink stages them: one row per group commit) are chained by the audit
 * worker's chainer, in bulk, exactly once; a pass that fails half-way (a transient error on the log
 * insert) loses nothing; a row with a record breaking the contract does not hold back its
 * neighbours and stays visible (refused_at, refused); /metrics reports the backlog.
 *
 * The chainer runs in a worker thread of its own (src/audit/log/audit-chainer.service.ts): chaining a
 * large backlog leaves the serving event loop idle; a thread that dies in the middle of a pass is
 * replaced and the pass's records are chained once; a second chainer on the same database (another
 * audit replica) chaining at the same time keeps every record once, seqs contiguous, the chain valid.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditChainer } from '../../src/audit/log/audit-chainer.service';
import { AuditLogWriter } from '../../src/audit/log/audit-log.writer';
import { StagedChainer } from '../../src/audit/log/staged-chainer';
import type { AuditRecordBatchPayload } from '../../src/contracts';
import { dataSourceOptions } from '../../src/platform/database/data-source-options';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { penguinRecords } from '../inference/inference-helpers';
import { livePrediction } from './audit-records';

const prediction = (requestId: string, record: Record<string, unknown>) => livePrediction(requestId, [record]);

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
    /** `batches` group commits of `size` records each; the ids (`${prefix}-000000`…) in staging order. */
    const stageMany = async (prefix: string, batches: number, size: number) => {
      const ids: string[] = [];
      for (let b = 0; b < batches; b++) {
        const predictions = Array.from({ length: size }, (_, i) => {
          ids.push(`${prefix}-${String(b * size + i).padStart(6, '0')}`);
          return prediction(ids[ids.length - 1]!, penguins[(b * size + i) % penguins.length]!);
        });
        await stage({ payloadVersion: 1, predictions, events: [] });
      }
      return ids;
    };
    /** Rows waiting for the chainer (a refused row stays, out of the backlog). */
    const stagedRows = async () =>
      (await pg.query(`SELECT count(*)::int AS n FROM audit_staging WHERE refused_at IS NULL`)).rows[0].n as number;
    const verifies = async () => {
      const v = await kiln.request('GET', '/api/audit/verify?chain=predictions');
      assert.equal(v.status, 200, v.text);
      return v.body.ok as boolean;
    };
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
      await pg?.query(`DROP TRIGGER IF EXISTS chainer_slow ON audit_predictions`).catch(() => undefined);
      await pg?.end();
      await kiln?.close();
    });

    it('chains staged batches once, in staging order, deletes them, and reports the backlog meanwhile', async () => {
      await chainer.pause();
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
      await chainer.pause();
      await stage({ payloadVersion: 1, predictions: [prediction(`${tag}-c-0`, penguins[0]!)], events: [] });
      const bad = await stage({
        payloadVersion: 1,
        predictions: [prediction(`${tag}-c-1`, penguins[1]!), { ...prediction(`${tag}-c-2`, penguins[2]!), servedAt: 'yesterday' }],
        events: [],
      });
      await stage({ payloadVersion: 1, predictions: [prediction(`${tag}-c-3`, penguins[3]!)], events: [] });
      chainer.resume();
      // chained by the kiln's own chainer: wait for its pass (records and staged-row changes commit together)
      const left = await eventually(async () => {
        assert.deepEqual(await storedIds(`${tag}-c-`), [`${tag}-c-0`, `${tag}-c-1`, `${tag}-c-3`]);
        const rows = (await pg.query(`SELECT id, refused_at, refused FROM audit_staging`)).rows;
        assert.equal(rows.length, 1);
        return rows;
      });
      assert.equal(String(left[0].id), bad);
      assert.ok(left[0].refused_at instanceof Date);
      assert.match(left[0].refused, /predictions\[1\]\.servedAt: must be an ISO 8601 time/);
      assert.equal(await backlog(), 0, 'a refused row is not backlog');
      const verify = await kiln.request('GET', '/api/audit/verify');
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.ok, true, verify.text);
    });

    it('the slow path commits the records of a row and its refusal together: a failure in between leaves neither', async () => {
      await chainer.pause();
      const db = await new DataSource(dataSourceOptions(kiln.databaseUrl, { applicationName: 'slow-path-test', max: 2 })).initialize();
      const pass = new StagedChainer(db, new AuditLogWriter(db));
      try {
        // a valid record and one breaking the contract: the pass takes the slow path, writes the first,
        // then marks the row refused — which fails here (as a crash at that moment would end the pass)
        const row = await stage({
          payloadVersion: 1,
          predictions: [prediction(`${tag}-s-0`, penguins[0]!), { ...prediction(`${tag}-s-1`, penguins[1]!), servedAt: 'soon' }],
          events: [],
        });
        await pg.query(`CREATE OR REPLACE FUNCTION staging_refuse_fail() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'connection lost for the test'; END $$`);
        await pg.query(
          `CREATE TRIGGER staging_refuse_fail BEFORE UPDATE ON audit_staging FOR EACH ROW EXECUTE FUNCTION staging_refuse_fail()`,
        );
        const headBefore = (await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq;
        await assert.rejects(pass.pass(), /connection lost for the test/);
        assert.deepEqual(await storedIds(`${tag}-s-`), [], 'no record of a row that is still staged');
        assert.equal((await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq, headBefore);
        const staged = (await pg.query(`SELECT refused_at FROM audit_staging WHERE id = $1`, [row])).rows;
        assert.equal(staged.length, 1);
        assert.equal(staged[0].refused_at, null, 'still waiting for the chainer');
        await pg.query(`DROP TRIGGER staging_refuse_fail ON audit_staging`);
        assert.equal(await pass.pass(), 1);
        assert.deepEqual(await storedIds(`${tag}-s-`), [`${tag}-s-0`], 'the valid record once');
        const refused = (await pg.query(`SELECT refused FROM audit_staging WHERE id = $1`, [row])).rows[0].refused;
        assert.match(refused, /predictions\[1\]\.servedAt: must be an ISO 8601 time/);
        assert.equal(await verifies(), true);
      } finally {
        await pg.query(`DROP TRIGGER IF EXISTS staging_refuse_fail ON audit_staging`);
        await db.destroy();
        chainer.resume();
      }
    });

    it('chains a backlog of 20 000 records while the serving event loop stays idle (the work is on its own thread)', async (t) => {
      await chainer.pause();
      const prefix = `${tag}-idle`;
      const ids = await stageMany(prefix, 40, 500);
      const loop = performance.eventLoopUtilization();
      const t0 = performance.now();
      chainer.resume();
      // polls sparsely: the test's own work on this loop must not count for much
      await eventually(async () => ((await stagedRows()) === 0 ? true : undefined), 120_000, 250);
      const used = performance.eventLoopUtilization(loop);
      const wall = performance.now() - t0;
      t.diagnostic(`chained in ${wall.toFixed(0)} ms; main event loop busy ${(used.utilization * 100).toFixed(1)} %`);
      assert.deepEqual(await storedIds(`${prefix}-`), ids, 'every record once, in staging order');
      // The old chainer, on this loop, kept it busy most of that time (JSON.parse, canonical JSON, SHA-256, pg).
      assert.ok(used.utilization < 0.25, `the main event loop was busy ${(used.utilization * 100).toFixed(1)} % of ${wall.toFixed(0)} ms`);
      const chainerConnections = (
        await pg.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'kiln-audit-chainer' AND datname = current_database()`,
        )
      ).rows[0].n;
      assert.ok(chainerConnections >= 1, 'the thread has connections of its own');
      assert.equal(await verifies(), true);
    });

    it('a chainer thread that dies in the middle of a pass is replaced; its records are chained once', async () => {
      const first = chainer.worker;
      assert.ok(first, 'chaining runs in a worker thread');
      // every insert into the log stalls: the pass holds its claimed rows when the thread is killed
      await pg.query(`CREATE OR REPLACE FUNCTION chainer_slow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$`);
      await pg.query(`CREATE TRIGGER chainer_slow BEFORE INSERT ON audit_predictions FOR EACH STATEMENT EXECUTE FUNCTION chainer_slow()`);
      const prefix = `${tag}-died`;
      // staged while paused, so that the pass that dies holds all three rows: rows staged after its
      // claim would be chained by the new thread before the dead pass's (SKIP LOCKED), and the
      // order asserted below is only promised for rows claimed together
      await chainer.pause();
      const ids = await stageMany(prefix, 3, 50);
      chainer.resume();
      await eventually(async () => {
        const busy = await pg.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'kiln-audit-chainer' AND datname = current_database()
             AND query LIKE 'INSERT INTO audit_predictions%' AND state = 'active'`,
        );
        return busy.rowCount ? true : undefined;
      });
      await first.terminate();
      await pg.query(`DROP TRIGGER chainer_slow ON audit_predictions`);
      await eventually(async () => (chainer.worker && chainer.worker !== first ? true : undefined));
      const chained = await eventually(async () => {
        const s = await storedIds(`${prefix}-`);
        return s.length === ids.length && (await stagedRows()) === 0 ? s : undefined;
      }, 60_000);
      assert.deepEqual(chained, ids, 'every record once, in staging order');
      assert.equal(await verifies(), true);
    });

    it('a second chainer on the same database at the same time: every record once, contiguous seqs, the chain verifies', async () => {
      const db = await new DataSource(
        dataSourceOptions(kiln.databaseUrl, { applicationName: 'second-audit-replica', max: 2 }),
      ).initialize();
      const second = new StagedChainer(db, new AuditLogWriter(db));
      const headBefore = Number((await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq);
      second.start();
      try {
        const prefix = `${tag}-two`;
        // staged while both chain: many small group commits, as serving replicas stage them
        const ids: string[] = [];
        for (let w = 0; w < 4; w++) ids.push(...(await stageMany(`${prefix}-${w}`, 30, 20)));
        await eventually(async () => ((await stagedRows()) === 0 ? true : undefined), 60_000);
        const rows = (
          await pg.query(`SELECT seq, request_id FROM audit_predictions WHERE request_id LIKE $1 ORDER BY seq`, [`${prefix}-%`])
        ).rows;
        assert.deepEqual(rows.map((r) => r.request_id).sort(), [...ids].sort(), 'every record once');
        const head = Number((await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq);
        assert.equal(head - headBefore, ids.length, 'the head moved by exactly the records chained');
        const seqs = rows.map((r) => Number(r.seq));
        assert.deepEqual(
          seqs,
          Array.from({ length: ids.length }, (_, i) => headBefore + 1 + i),
          'contiguous seqs',
        );
        assert.equal(await verifies(), true);
      } finally {
        await second.stop();
        await db.destroy();
      }
    });
  });
}

void main();
