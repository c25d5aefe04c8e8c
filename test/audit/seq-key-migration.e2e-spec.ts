/**
 * Migration 1765300000000 on a database that already holds a prediction log (machine PostgreSQL):
 * the primary key of `audit_predictions` becomes (seq, logged_at) on the table and every partition,
 * the separate `seq` index goes, each chain head gets its newest logged_at, and the writer then keeps
 * logged_at from going backwards from there (it no longer reads the newest row), the chain verifying
 * whole and by time bounds. Down and up again restore and re-apply it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { AuditPredictionsSeqKey1765300000000 } from '../../migrations/1765300000000-audit-predictions-seq-key';
import { AuditLogWriter, predictionInsertParams } from '../../src/audit/log/audit-log.writer';
import { ChainVerifier } from '../../src/audit/log/chain-verifier.service';
import type { CheckpointKey } from '../../src/audit/log/checkpoint-key';
import { normalizePrediction } from '../../src/audit/log/incoming-records';
import { partitionFor } from '../../src/audit/log/partitions';
import { dataSourceOptions } from '../../src/platform/database/data-source-options';
import { createScratchDatabase, skipUnless } from '../utils/test-kiln';
import { livePrediction } from './audit-records';

const DAY1 = new Date('2026-03-01T10:00:00.000Z');
const DAY2 = new Date('2026-03-02T10:00:00.000Z');

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('migration 1765300000000: the prediction log keyed by (seq, logged_at)', { skip }, () => {
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
    let db: DataSource;

    before(async () => {
      scratch = await createScratchDatabase();
      // the schema as it was before this migration
      const previous = MIGRATIONS.filter((m) => m !== AuditPredictionsSeqKey1765300000000);
      const old = await new DataSource({ ...dataSourceOptions(scratch.url, { max: 2 }), migrations: previous }).initialize();
      await old.runMigrations({ transaction: 'each' });
      // two days of log, chained and inserted as the writer did before (head: seq and hash only)
      let head = { seq: 0, hash: '0'.repeat(64) };
      for (const [day, ids] of [
        [DAY1, ['m-1', 'm-2']],
        [DAY2, ['m-3', 'm-4']],
      ] as const) {
        const p = partitionFor(day);
        await old.query(
          `CREATE TABLE ${p.name} PARTITION OF audit_predictions FOR VALUES FROM ('${p.from.toISOString()}') TO ('${p.to.toISOString()}')`,
        );
        const records = ids.map((id, i) => normalizePrediction(livePrediction(id, [{ x: i }]), i));
        const chained = predictionInsertParams(records, head, day);
        await old.query(
          `INSERT INTO audit_predictions (seq, logged_at, request_id, client_request_id, served_at, caller_key_id, model,
             model_version, route, kind, canary, status, latency_ms, rows, inputs, inputs_sha256, outputs, error, prev_hash, hash)
           SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::varchar[], $4::varchar[], $5::timestamptz[], $6::varchar[],
             $7::varchar[], $8::integer[], $9::varchar[], $10::varchar[], $11::boolean[], $12::smallint[], $13::float8[],
             $14::integer[], $15::jsonb[], $16::text[], $17::jsonb[], $18::text[], $19::text[], $20::text[])`,
          chained.columns,
        );
        head = { seq: chained.seq, hash: chained.hash };
        await old.query(`UPDATE audit_chain_heads SET seq = $1, hash = $2 WHERE chain = 'predictions'`, [head.seq, head.hash]);
      }
      await old.destroy();
      db = await new DataSource(dataSourceOptions(scratch.url, { max: 2 })).initialize();
      assert.equal((await db.runMigrations({ transaction: 'each' })).length, 1);
    });

    after(async () => {
      await db?.destroy();
      await scratch?.drop();
    });

    const indexes = async (table: string) =>
      (
        (await db.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`, [table])) as Array<{
          indexname: string;
          indexdef: string;
        }>
      ).map((r) => `${r.indexname}: ${r.indexdef.replace(/^.* USING /, '')}`);

    it('keys the table and each partition by (seq, logged_at), without the seq index', async () => {
      for (const table of ['audit_predictions', partitionFor(DAY1).name, partitionFor(DAY2).name]) {
        const defs = await indexes(table);
        assert.ok(
          defs.some((d) => /_pkey: btree \(seq, logged_at\)$/.test(d)),
          `${table}: ${defs.join('; ')}`,
        );
        assert.equal(
          defs.length,
          4,
          `${table}: primary key, request_id, (model, model_version, served_at), partial client_request_id: ${defs.join('; ')}`,
        );
        assert.ok(!defs.some((d) => /: btree \(seq\)$/.test(d)), `${table} still has the seq index`);
      }
    });

    it('seeds each chain head with its newest logged_at', async () => {
      const heads = (await db.query(`SELECT chain, logged_at FROM audit_chain_heads ORDER BY chain`)) as Array<{
        chain: string;
        logged_at: Date | null;
      }>;
      assert.deepEqual(
        heads.map((h) => [h.chain, h.logged_at?.toISOString() ?? null]),
        [
          ['events', null],
          ['predictions', DAY2.toISOString()],
        ],
      );
    });

    it('the writer continues the chain from there: logged_at never before the newest row, the chain valid whole and by time', async () => {
      const writer = new AuditLogWriter(db);
      // asked to log at DAY1 (a clock behind the log's newest row): clamped to DAY2, from the head
      const id = `m-${randomUUID()}`;
      await writer.writeBatch({ payloadVersion: 1, predictions: [livePrediction(id)], events: [] }, DAY1);
      const [row] = (await db.query(`SELECT seq, logged_at FROM audit_predictions WHERE request_id = $1`, [id])) as Array<{
        seq: string;
        logged_at: Date;
      }>;
      assert.deepEqual([row!.seq, row!.logged_at.toISOString()], ['5', DAY2.toISOString()]);
      const [head] = (await db.query(`SELECT seq, logged_at FROM audit_chain_heads WHERE chain = 'predictions'`)) as Array<{
        seq: string;
        logged_at: Date;
      }>;
      assert.deepEqual([head!.seq, head!.logged_at.toISOString()], ['5', DAY2.toISOString()]);

      const verifier = new ChainVerifier(db, null as unknown as CheckpointKey);
      const whole = await verifier.verify('predictions');
      assert.deepEqual([whole.ok, whole.checked], [true, 5]);
      const day2 = await verifier.verify('predictions', { time: DAY2 });
      assert.deepEqual([day2.ok, day2.fromSeq, day2.toSeq], [true, 3, 5]);
      const day1 = await verifier.verify('predictions', { time: DAY1 }, { time: DAY2 });
      assert.deepEqual([day1.ok, day1.fromSeq, day1.toSeq], [true, 1, 2]);
    });

    it('goes down to the previous key and up again', async () => {
      await db.undoLastMigration({ transaction: 'each' });
      const down = await indexes('audit_predictions');
      assert.ok(
        down.some((d) => /_pkey: btree \(logged_at, seq\)$/.test(d)) && down.some((d) => /: btree \(seq\)$/.test(d)),
        down.join('; '),
      );
      assert.equal((await db.runMigrations({ transaction: 'each' })).length, 1);
      const up = await indexes(partitionFor(DAY2).name);
      assert.ok(up.some((d) => /_pkey: btree \(seq, logged_at\)$/.test(d)) && !up.some((d) => /: btree \(seq\)$/.test(d)), up.join('; '));
      const [head] = (await db.query(`SELECT logged_at FROM audit_chain_heads WHERE chain = 'predictions'`)) as Array<{ logged_at: Date }>;
      assert.equal(head!.logged_at.toISOString(), DAY2.toISOString());
    });
  });
}

void main();
