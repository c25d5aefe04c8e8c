/**
 * The audit chainer runs in a worker thread of its own (src/audit/log/audit-chainer.service.ts), on
 * the machine's PostgreSQL:
 *   - chaining a large backlog leaves the serving event loop idle (the thread does the parsing,
 *     canonicalising, hashing and the log's SQL, on connections of its own);
 *   - a thread that dies in the middle of a pass is replaced, and the pass's records are chained once;
 *   - a second chainer on the same database (another audit replica) chaining at the same time: every
 *     record once, contiguous seqs, the chain verifies.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditChainer } from '../../src/audit/log/audit-chainer.service';
import { AuditLogWriter } from '../../src/audit/log/audit-log.writer';
import { StagedChainer } from '../../src/audit/log/staged-chainer';
import type { AuditPredictionRecord, AuditRecordBatchPayload } from '../../src/contracts';
import { dataSourceOptions } from '../../src/platform/database/data-source-options';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

function prediction(requestId: string, i: number): AuditPredictionRecord {
  const features = Object.fromEntries(Array.from({ length: 30 }, (_, f) => [`f${String(f).padStart(3, '0')}`, ((i * 31 + f) % 97) / 7]));
  return {
    requestId,
    clientRequestId: null,
    servedAt: new Date().toISOString(),
    callerKeyId: null,
    model: 'bench-like',
    version: 1,
    route: 'record',
    kind: 'live',
    canary: false,
    status: 200,
    latencyMs: 0.75,
    rows: 1,
    inputs: [features],
    inputsSha256: null,
    outputs: [{ label: 'yes', probabilities: { no: 0.25, yes: 0.75 }, score: 0.75 }],
    error: null,
  };
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('the audit chainer thread (postgres)', { skip }, () => {
    let kiln: TestKiln;
    let pg: Client;
    let chainer: AuditChainer;
    const tag = randomUUID().slice(0, 8);

    /** `batches` staged rows of `size` records each, straight into audit_staging (as AuditSink stages them). */
    const stage = async (prefix: string, batches: number, size: number) => {
      const ids: string[] = [];
      for (let b = 0; b < batches; b++) {
        const payload: AuditRecordBatchPayload = { payloadVersion: 1, predictions: [], events: [] };
        for (let i = 0; i < size; i++) {
          const id = `${prefix}-${String(b * size + i).padStart(6, '0')}`;
          ids.push(id);
          payload.predictions!.push(prediction(id, b * size + i));
        }
        await pg.query(`INSERT INTO audit_staging (records, batch) VALUES ($1, $2)`, [size, JSON.stringify(payload)]);
      }
      return ids;
    };
    const stored = async (prefix: string) =>
      (await pg.query(`SELECT request_id FROM audit_predictions WHERE request_id LIKE $1 ORDER BY seq`, [`${prefix}-%`])).rows.map(
        (r) => r.request_id as string,
      );
    const staged = async () => (await pg.query(`SELECT count(*)::int AS n FROM audit_staging`)).rows[0].n as number;
    const verified = async () => {
      const v = await kiln.request('GET', '/api/audit/verify?chain=predictions');
      assert.equal(v.status, 200, v.text);
      return v.body;
    };

    before(async () => {
      kiln = await startTestKiln('postgres');
      chainer = kiln.app.get(AuditChainer);
      pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
    });

    after(async () => {
      chainer?.resume();
      await pg?.query(`DROP TRIGGER IF EXISTS chainer_slow ON audit_predictions`).catch(() => undefined);
      await pg?.end();
      await kiln?.close();
    });

    it('chains a backlog of 20 000 records while the serving event loop stays idle (the work is on its own thread)', async () => {
      chainer.pause();
      const prefix = `${tag}-idle`;
      const ids = await stage(prefix, 40, 500);
      const loop = performance.eventLoopUtilization();
      const t0 = performance.now();
      chainer.resume();
      // polls sparsely: the test's own work on this loop must not count for much
      await eventually(async () => ((await staged()) === 0 ? true : undefined), 120_000, 250);
      const used = performance.eventLoopUtilization(loop);
      const wall = performance.now() - t0;
      assert.deepEqual(await stored(prefix), ids, 'every record once, in staging order');
      // The old chainer, on this loop, kept it busy most of that time (JSON.parse, canonical JSON, SHA-256, pg).
      assert.ok(used.utilization < 0.25, `the main event loop was busy ${(used.utilization * 100).toFixed(1)} % of ${wall.toFixed(0)} ms`);
      const chainerConnections = (
        await pg.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'kiln-audit-chainer' AND datname = current_database()`,
        )
      ).rows[0].n;
      assert.ok(chainerConnections >= 1, 'the thread has connections of its own');
      assert.equal((await verified()).ok, true);
    });

    it('a chainer thread that dies in the middle of a pass is replaced; its records are chained once', async () => {
      const first = chainer.worker;
      assert.ok(first, 'chaining runs in a worker thread');
      // every insert into the log stalls: the pass holds its claimed rows when the thread is killed
      await pg.query(`CREATE OR REPLACE FUNCTION chainer_slow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$`);
      await pg.query(`CREATE TRIGGER chainer_slow BEFORE INSERT ON audit_predictions FOR EACH STATEMENT EXECUTE FUNCTION chainer_slow()`);
      const prefix = `${tag}-died`;
      const ids = await stage(prefix, 3, 50);
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
        const s = await stored(prefix);
        return s.length === ids.length && (await staged()) === 0 ? s : undefined;
      }, 60_000);
      assert.deepEqual(chained, ids, 'every record once, in staging order');
      assert.equal((await verified()).ok, true);
    });

    it('a second chainer on the same database at the same time: every record once, contiguous seqs, the chain verifies', async () => {
      const db = await new DataSource(
        dataSourceOptions(kiln.databaseUrl, { applicationName: 'second-audit-replica', max: 2 }),
      ).initialize();
      const second = new StagedChainer(db, new AuditLogWriter(db), () => false);
      const headBefore = Number((await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq);
      second.start();
      try {
        const prefix = `${tag}-two`;
        // staged while both chain: many small group commits, as serving replicas stage them
        const ids: string[] = [];
        for (let w = 0; w < 4; w++) ids.push(...(await stage(`${prefix}-${w}`, 30, 20)));
        await eventually(async () => ((await staged()) === 0 ? true : undefined), 60_000);
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
        assert.equal((await verified()).ok, true);
      } finally {
        await second.stop();
        await db.destroy();
      }
    });
  });
}

void main();
