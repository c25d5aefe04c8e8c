/**
 * A management mutation and its admin event commit together or not at all (the admin-event outbox):
 * a hostile key name is a 400 that stores nothing; a failure injected into the event write (a
 * PostgreSQL trigger, no mocks) leaves neither the key (nor a dataset, training job or batch
 * prediction) nor an event; a normal creation and a revocation leave exactly one event each, with
 * actor, target and before/after; a batch prediction repeated with its Idempotency-Key logs one
 * `batch-prediction.started`, and the output dataset it creates one `dataset.created`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { penguinsVersion, trainModel } from '../inference/inference-helpers';
import { eventually, skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';

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

    const count = async (table: string) => (await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;
    /** Runs `work` while every insert into the outbox fails (a trigger: the real database refuses it). */
    const withFailingOutbox = async (work: () => Promise<void>) => {
      await db.query(`CREATE FUNCTION kiln_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure after the mutation'; END $$`);
      await db.query(`CREATE TRIGGER kiln_test_fail BEFORE INSERT ON admin_event_outbox FOR EACH ROW EXECUTE FUNCTION kiln_test_fail()`);
      try {
        await work();
      } finally {
        await db.query(`DROP TRIGGER kiln_test_fail ON admin_event_outbox`);
        await db.query(`DROP FUNCTION kiln_test_fail()`);
      }
    };

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
        assert.ok(
          res.body.errors.some((e: { field: string }) => e.field === 'name'),
          res.text,
        );
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

    describe('a failure while storing the event leaves neither the change nor an event', () => {
      let data: { id: string; datasetId: string };
      let v: number;
      before(async () => {
        data = await penguinsVersion(kiln);
        v = await trainModel(kiln, { datasetVersionId: data.id, modelName: 'atomic', target: 'Species' });
      });
      /** Sends `call` while the outbox refuses inserts: a 5xx, then (past one relay pass) nothing in `tables` and no event. */
      const refusedWhole = async (call: () => Promise<TestResponse>, tables: string[]) => {
        const counts = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(t)])));
        const before = await counts();
        let res!: TestResponse;
        await withFailingOutbox(async () => {
          res = await call();
        });
        assert.ok(res.status >= 500, res.text);
        await new Promise((r) => setTimeout(r, 1500)); // > one relay pass; a queued job would have started
        assert.deepEqual(await counts(), before, 'nothing stored');
        assert.deepEqual(await eventsOf(res.headers.get('x-request-id')!), [], 'no event');
        assert.equal(await count('admin_event_outbox'), 0);
      };

      it('dataset creation', async () => {
        await refusedWhole(() => kiln.request('POST', '/api/datasets', { body: { name: 'doomed-dataset' } }), ['datasets']);
        assert.equal((await db.query(`SELECT 1 FROM datasets WHERE name = 'doomed-dataset'`)).rowCount, 0);
      });

      it('training job creation (nothing queued)', async () => {
        const body = { datasetVersionId: data.id, target: 'Species', modelName: 'doomed-model', hyperparameters: { epochs: 2 } };
        await refusedWhole(() => kiln.request('POST', '/api/training-jobs', { body }), ['training_jobs']);
        assert.equal((await db.query(`SELECT 1 FROM models WHERE name = 'doomed-model'`)).rowCount, 0, 'nothing was queued and trained');
      });

      it('batch prediction (and its default output dataset)', async () => {
        const body = { model: 'atomic', version: v, datasetVersionId: data.id };
        await refusedWhole(() => kiln.request('POST', '/api/batch-predictions', { body }), ['batch_predictions', 'datasets']);
      });
    });

    describe('a queue that refuses the job leaves neither the change nor an event (commit, enqueue, undo)', () => {
      let data: { id: string; datasetId: string };
      let v: number;
      let outputDatasetId: string;
      before(async () => {
        data = await penguinsVersion(kiln);
        v = await trainModel(kiln, { datasetVersionId: data.id, modelName: 'unqueued', target: 'Species' });
        const out = await kiln.request('POST', '/api/datasets', { body: { name: 'unqueued-out' } });
        assert.equal(out.status, 201, out.text);
        outputDatasetId = out.body.id;
      });
      /**
       * Sends `call` while the queue backend (BullMQ's PostgreSQL tables: a trigger, no mocks) refuses
       * jobs named `jobName` after 1.5 s: longer than a relay pass, so an event committed before the
       * enqueue would be relayed meanwhile. Then: a 5xx, nothing in `table` or the outbox, no event.
       */
      const unqueued = async (jobName: string, call: () => Promise<TestResponse>, table: string | null) => {
        const before = table ? await count(table) : 0;
        await db.query(`CREATE FUNCTION kiln_test_refuse_job() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN PERFORM pg_sleep(1.5); RAISE EXCEPTION 'injected: the queue refuses %', NEW.name; END $$`);
        await db.query(
          `CREATE TRIGGER kiln_test_refuse_job BEFORE INSERT ON bullmq.job FOR EACH ROW ` +
            `WHEN (NEW.name = '${jobName}') EXECUTE FUNCTION kiln_test_refuse_job()`,
        );
        let res: TestResponse;
        try {
          res = await call();
        } finally {
          await db.query(`DROP TRIGGER kiln_test_refuse_job ON bullmq.job`);
          await db.query(`DROP FUNCTION kiln_test_refuse_job()`);
        }
        assert.ok(res.status >= 500, res.text);
        await new Promise((r) => setTimeout(r, 1500)); // > one relay pass
        assert.deepEqual(
          {
            rows: table ? (await count(table)) - before : 0,
            outbox: await count('admin_event_outbox'),
            events: (await eventsOf(res.headers.get('x-request-id')!)).map((e) => e.action),
          },
          { rows: 0, outbox: 0, events: [] },
        );
      };

      it('training job', async () => {
        const body = { datasetVersionId: data.id, target: 'Species', modelName: 'unqueued-model', hyperparameters: { epochs: 2 } };
        await unqueued('training.run-job', () => kiln.request('POST', '/api/training-jobs', { body }), 'training_jobs');
      });

      it('batch prediction', async () => {
        const body = { model: 'unqueued', version: v, datasetVersionId: data.id, outputDatasetId };
        await unqueued('inference.batch-predict', () => kiln.request('POST', '/api/batch-predictions', { body }), 'batch_predictions');
      });

      it('on-demand drift check', async () => {
        await unqueued('audit.drift-check', () => kiln.request('POST', '/api/models/unqueued/drift/check'), null);
      });
    });

    it(
      'a batch prediction sent twice with one Idempotency-Key logs one started event; ' + 'its new output dataset one dataset.created',
      async () => {
        const data = await penguinsVersion(kiln);
        const v = await trainModel(kiln, { datasetVersionId: data.id, modelName: 'scored', target: 'Species' });
        const body = { model: 'scored', version: v, datasetVersionId: data.id };
        const headers = { 'idempotency-key': 'outbox-once' };
        const first = await kiln.request('POST', '/api/batch-predictions', { body, headers });
        assert.equal(first.status, 202, first.text);
        const again = await kiln.request('POST', '/api/batch-predictions', { body, headers });
        assert.equal(again.status, 202, again.text);
        assert.equal(again.body.id, first.body.id, 'the same job');
        const started = async () =>
          (
            await db.query(
              `SELECT request_id, actor_key_id, target FROM audit_events ` +
                `WHERE action = 'batch-prediction.started' AND target->>'batchPredictionId' = $1`,
              [first.body.id],
            )
          ).rows;
        await eventually(async () => ((await started()).length ? true : undefined));
        await new Promise((r) => setTimeout(r, 1500)); // a second event, if any, would be written by now
        const rows = await started();
        assert.equal(rows.length, 1, 'one batch-prediction.started for one job');
        assert.equal(rows[0].request_id, first.headers.get('x-request-id'));
        assert.deepEqual(await eventsOf(again.headers.get('x-request-id')!), [], 'the repeated request created nothing and logged nothing');
        const outputId = first.body.outputDatasetId as string;
        assert.notEqual(outputId, data.datasetId, 'a new output dataset, not the input');
        const created = (
          await db.query(
            `SELECT request_id, actor_key_id, target, after FROM audit_events ` +
              `WHERE action = 'dataset.created' AND target->>'datasetId' = $1`,
            [outputId],
          )
        ).rows;
        assert.equal(created.length, 1, 'the output dataset was created once, with its event');
        assert.equal(created[0].request_id, first.headers.get('x-request-id'));
        assert.equal(created[0].actor_key_id, adminKeyId(), 'by the caller');
        const name = (await db.query(`SELECT name FROM datasets WHERE id = $1`, [outputId])).rows[0].name;
        assert.deepEqual(created[0].target, { datasetId: outputId, name });
        assert.equal(created[0].after.id, outputId);
      },
    );

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
      assert.deepEqual(
        all.rows.map((e) => e.action),
        ['key.created', 'key.revoked'],
      );
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
