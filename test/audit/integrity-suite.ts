/**
 * Audit integrity under hostile and concurrent clients, run per queue backend (PostgreSQL:
 * integrity.e2e-spec; Redis: integrity.redis.e2e-spec), on a penguins model trained through the API:
 * - poisoned group commit: clients sending NUL / lone surrogates in string features beside honest
 *   clients; no honest call fails, and the hostile records are stored and read back exactly;
 * - reused ids: every answered call has its own record (server-unique request id), the client's id is
 *   kept and searchable, v2 `id` is echoed and validated;
 * - feedback sent right after its prediction is accepted, also while the chainer is stopped (the record
 *   is staged, not chained yet), by request id or the client's own id; feedback for ids this server
 *   never issued is a 404, however fresh the UUIDv7 they look like;
 * - the record lookup by request id likewise finds a prediction right after its answer, marked not chained yet.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { auditRecord, chainedAuditRecord } from '../utils/audit-lookup';
import { eventually, skipUnless, startTestKiln, type TestConfiguration, type TestKiln } from '../utils/test-kiln';
import { canonicalJson } from '../../src/audit/chain';
import { AuditChainer } from '../../src/audit/log/audit-chainer.service';
import { uuidV7 } from '../../src/platform/logging/logging';
import { penguinRecords, penguinsVersion, trainModel } from '../inference/inference-helpers';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function integritySuite(configuration: TestConfiguration): Promise<void> {
  const skip = await skipUnless(configuration);
  describe(`audit integrity on configuration "${configuration}"`, { skip }, () => {
    let kiln: TestKiln;
    let predictor = '';
    let auditor = '';
    const MODEL = 'integrity';
    const records = penguinRecords(20, 0);

    before(async () => {
      kiln = await startTestKiln(configuration, { KILN_LOG_LEVEL: 'error' });
      for (const role of ['predictor', 'auditor'] as const) {
        const r = await kiln.request('POST', '/api/keys', { body: { name: `integrity ${role}`, role } });
        assert.equal(r.status, 201, r.text);
        if (role === 'predictor') predictor = r.body.key;
        else auditor = r.body.key;
      }
      const data = await penguinsVersion(kiln);
      await trainModel(kiln, {
        datasetVersionId: data.id,
        modelName: MODEL,
        target: 'Species',
        promote: 'always',
        hyperparameters: { epochs: 2 },
      });
    });
    after(async () => {
      await kiln?.close();
    });

    const predict = (body: unknown, headers?: Record<string, string>) =>
      kiln.request('POST', `/api/models/${MODEL}/predict`, { key: predictor, body, ...(headers ? { headers } : {}) });
    /** The record in the log (the tests below read the listing, or what the chainer stored). */
    const stored = (id: string) => chainedAuditRecord(kiln, id, auditor);

    it('a client sending NUL or lone surrogates never fails the honest calls beside it; its record is exact', async () => {
      const hostileValues = ['Biscoe\u0000', '\ud800', 'Dream\udc00x', '\u0000\u0000', 'Torgersen\ue000' + '0041'];
      const CALLS = 30;
      let honestFailed = 0;
      let honestCalls = 0;
      const hostile: Array<{ id: string; sent: unknown }> = [];
      let hostileFailed = 0;
      const honestClient = async (c: number) => {
        for (let i = 0; i < CALLS; i++) {
          honestCalls++;
          const r = await predict({ records: [records[(c + i) % records.length]] });
          if (r.status !== 200) honestFailed++;
        }
      };
      const hostileClient = async (c: number) => {
        for (let i = 0; i < CALLS; i++) {
          const value = hostileValues[(c + i) % hostileValues.length]!;
          const sent = [{ ...records[i % records.length], Island: value, Sex: `${value}\ud83d` }];
          const r = await predict({ records: sent });
          if (r.status === 200) hostile.push({ id: r.headers.get('x-request-id')!, sent });
          else hostileFailed++;
        }
      };
      await Promise.all([...Array.from({ length: 8 }, (_, c) => honestClient(c)), hostileClient(0), hostileClient(1)]);
      process.stdout.write(
        `# poisoning (${configuration}): honest calls ${honestCalls}, honest failed ${honestFailed}; ` +
          `hostile calls ${2 * CALLS}, answered 200: ${hostile.length}, refused: ${hostileFailed}\n`,
      );
      assert.equal(honestFailed, 0, `${honestFailed} of ${honestCalls} honest calls failed`);
      assert.ok(hostile.length > 0, 'the hostile calls were answered (unknown categories are served)');
      for (const h of hostile.slice(0, 12)) {
        const rec = await stored(h.id);
        assert.deepEqual(rec.inputs, h.sent, `record ${h.id} stores exactly what the model received`);
        assert.equal(rec.inputsSha256, sha256(canonicalJson(h.sent)));
      }
      const verify = await kiln.request('GET', '/api/audit/verify', { key: auditor });
      assert.equal(verify.body.ok, true, verify.text);
    });

    it('three calls with the same x-request-id get three records, found by the ids their responses carried', async () => {
      const clientId = `reused-${configuration}-${Date.now()}`;
      const answers = await Promise.all([0, 1, 2].map(() => predict({ records: [records[0]] }, { 'x-request-id': clientId })));
      const ids = answers.map((a) => {
        assert.equal(a.status, 200, a.text);
        assert.equal(a.body.requestId, a.headers.get('x-request-id'));
        return a.body.requestId as string;
      });
      assert.equal(new Set(ids).size, 3, `server ids are unique per call: ${ids.join(', ')}`);
      for (const id of ids) assert.equal((await stored(id)).clientRequestId, clientId);
      const listed = await kiln.request('GET', `/api/audit/predictions?clientRequestId=${clientId}`, { key: auditor });
      assert.equal(listed.status, 200, listed.text);
      assert.deepEqual(listed.body.items.map((r: any) => r.requestId).sort(), [...ids].sort());
    });

    it('v2: the body id is echoed and kept as the client id; reused, empty ids get their own records; bad ids are 400', async () => {
      const v = await kiln.request('GET', `/api/models/${MODEL}/versions/1`);
      const input = v.body.signature.inputs[0];
      const width = input.shape[1];
      const body = (id: string) => ({
        id,
        inputs: [{ name: input.name, shape: [1, width], datatype: 'FP32', data: new Array(width).fill(0.5) }],
      });
      const infer = (id: string) => kiln.request('POST', `/v2/models/${MODEL}/infer`, { key: predictor, body: body(id) });
      const same = await Promise.all([0, 1, 2].map(() => infer('same-v2-id')));
      const ids = same.map((a) => {
        assert.equal(a.status, 200, a.text);
        assert.equal(a.body.id, 'same-v2-id');
        return a.headers.get('x-request-id')!;
      });
      assert.equal(new Set(ids).size, 3);
      for (const id of ids) assert.equal((await stored(id)).clientRequestId, 'same-v2-id');
      const empty = await infer('');
      assert.equal(empty.status, 200, empty.text);
      assert.equal(empty.body.id, '');
      await stored(empty.headers.get('x-request-id')!);
      for (const bad of ['x'.repeat(201), 'a\u0000b', 'tab\there']) {
        const r = await infer(bad);
        assert.equal(r.status, 400, r.text);
        assert.match(r.body.error, /\bid\b/);
      }
      const verify = await kiln.request('GET', '/api/audit/verify', { key: auditor });
      assert.equal(verify.body.ok, true, verify.text);
    });

    it('a record PostgreSQL refuses fails alone: its neighbours are written, it is stored without payloads', async () => {
      // A real PostgreSQL refusal (SQLSTATE 22023) for one client's records that carry inputs.
      const db = new Client({ connectionString: kiln.databaseUrl });
      await db.connect();
      try {
        await db.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.client_request_id = 'poison-writer' AND NEW.inputs IS NOT NULL THEN
              RAISE EXCEPTION 'refused for the test' USING ERRCODE = '22023';
            END IF;
            RETURN NEW;
          END $$`);
        await db.query(`CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_predictions FOR EACH ROW EXECUTE FUNCTION refuse_poison()`);
        const answers = await Promise.all(
          ['honest-a', 'poison-writer', 'honest-b'].map((id) => predict({ records: [records[1]] }, { 'x-request-id': id })),
        );
        for (const a of answers) assert.equal(a.status, 200, a.text);
        const [a, poison, b] = await Promise.all(answers.map((x) => stored(x.headers.get('x-request-id')!)));
        assert.deepEqual(a.inputs, [records[1]]);
        assert.deepEqual(b.inputs, [records[1]]);
        assert.equal(poison.inputs, null);
        assert.equal(poison.inputsSha256, sha256(canonicalJson([records[1]])));
        assert.match(poison.error, /not stored \(refused by PostgreSQL: refused for the test\)/);
        const verify = await kiln.request('GET', '/api/audit/verify', { key: auditor });
        assert.equal(verify.body.ok, true, verify.text);
      } finally {
        await db.query(`DROP TRIGGER IF EXISTS refuse_poison ON audit_predictions`).catch(() => undefined);
        await db.end();
      }
    });

    it('feedback sent right after its prediction is accepted', async () => {
      for (let i = 0; i < 5; i++) {
        const p = await predict({ records: [records[i]] });
        assert.equal(p.status, 200, p.text);
        const f = await kiln.request('POST', '/api/feedback', {
          key: predictor,
          body: { requestId: p.headers.get('x-request-id'), actual: 'Adelie' },
        });
        assert.equal(f.status, 201, f.text);
      }
      const unknown = await kiln.request('POST', '/api/feedback', {
        key: predictor,
        body: { requestId: 'never-issued', actual: 'Adelie' },
      });
      assert.equal(unknown.status, 404, unknown.text);
      // The client's own id works too when it names one prediction; a reused one does not.
      const own = `own-${configuration}-${Date.now()}`;
      const p = await predict({ records: [records[7]] }, { 'x-request-id': own });
      await stored(p.headers.get('x-request-id')!);
      const byOwn = await kiln.request('POST', '/api/feedback', { key: predictor, body: { requestId: own, actual: 'Gentoo' } });
      assert.equal(byOwn.status, 201, byOwn.text);
      assert.equal(byOwn.body.items[0].requestId, p.headers.get('x-request-id'));
      const reused = `reused-own-${configuration}-${Date.now()}`;
      for (const x of await Promise.all([0, 1].map(() => predict({ records: [records[8]] }, { 'x-request-id': reused }))))
        await stored(x.headers.get('x-request-id')!);
      const ambiguous = await kiln.request('POST', '/api/feedback', { key: predictor, body: { requestId: reused, actual: 'Gentoo' } });
      assert.equal(ambiguous.status, 404, ambiguous.text);
    });

    it('feedback for fresh-looking ids this server never issued answers 404', async () => {
      // UUIDv7 ids of this very second, as a client wanting to hold requests open would forge them
      const forged = Array.from({ length: 20 }, () => uuidV7());
      const answers = await Promise.all(
        forged.map((requestId) => kiln.request('POST', '/api/feedback', { key: predictor, body: { requestId, actual: 'Adelie' } })),
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        forged.map(() => 404),
      );
      // a batch mixing one such id with a real prediction's id does not wait either
      const p = await predict({ records: [records[9]] });
      assert.equal(p.status, 200, p.text);
      await stored(p.headers.get('x-request-id')!);
      const mixed = await kiln.request('POST', '/api/feedback', {
        key: predictor,
        body: {
          items: [
            { requestId: p.headers.get('x-request-id'), actual: 'Adelie' },
            { requestId: uuidV7(), actual: 'Adelie' },
          ],
        },
      });
      assert.equal(mixed.status, 404, mixed.text);
      assert.deepEqual(
        mixed.body.errors.map((e: { field: string }) => e.field),
        ['items.1.requestId'],
      );
    });

    it('feedback for predictions not chained yet (the chainer stopped, however long) is accepted at once, by either id', async () => {
      // Paused chainer: predictions are answered (their records are durable in audit_staging) but not
      // written to the log; feedback finds them there, whatever their age, and none waits for the log.
      const chainer = kiln.app.get(AuditChainer);
      const own = `staged-own-${configuration}-${Date.now()}`;
      const reused = `staged-reused-${configuration}-${Date.now()}`;
      const pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
      let ids: string[] = [];
      await chainer.pause();
      try {
        const predictions = await Promise.all(Array.from({ length: 8 }, (_, i) => predict({ records: [records[i]] })));
        assert.deepEqual(new Set(predictions.map((p) => p.status)), new Set([200]));
        const byOwn = await predict({ records: [records[10]] }, { 'x-request-id': own });
        const twice = await Promise.all([0, 1].map(() => predict({ records: [records[11]] }, { 'x-request-id': reused })));
        const staged = await pg.query(`SELECT count(*)::int AS n FROM audit_staging WHERE refused_at IS NULL`);
        assert.ok(staged.rows[0].n > 0, 'the records are staged, not chained');
        ids = predictions.map((p) => p.headers.get('x-request-id')!);
        const one = await kiln.request('POST', '/api/feedback', { key: predictor, body: { requestId: ids[0], actual: 'Adelie' } });
        assert.equal(one.status, 201, one.text);
        const many = await kiln.request('POST', '/api/feedback', {
          key: predictor,
          body: { items: ids.slice(1).map((requestId) => ({ requestId, actual: 'Gentoo' })) },
        });
        assert.equal(many.status, 201, many.text);
        assert.equal(many.body.created, ids.length - 1);
        const own201 = await kiln.request('POST', '/api/feedback', { key: predictor, body: { requestId: own, actual: 'Chinstrap' } });
        assert.equal(own201.status, 201, own201.text);
        assert.equal(own201.body.items[0].requestId, byOwn.headers.get('x-request-id'));
        const ambiguous = await kiln.request('POST', '/api/feedback', { key: predictor, body: { requestId: reused, actual: 'Gentoo' } });
        assert.equal(ambiguous.status, 404, ambiguous.text);
        assert.ok(twice.every((p) => p.status === 200));
      } finally {
        chainer.resume();
      }
      try {
        // chained afterwards: every label is on its logged prediction
        await eventually(async () => {
          const r = await pg.query(
            `SELECT count(*)::int AS n FROM audit_feedback f JOIN audit_predictions p USING (request_id) WHERE f.request_id = ANY($1)`,
            [ids],
          );
          return r.rows[0].n === ids.length ? true : undefined;
        });
      } finally {
        await pg.end();
      }
      const verify = await kiln.request('GET', '/api/audit/verify?chain=predictions', { key: auditor });
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.ok, true, verify.text);
    });

    it('a prediction is found by its request id right after its answer, the chainer stopped: not chained yet, same content', async () => {
      const chainer = kiln.app.get(AuditChainer);
      const sent = [{ ...records[3], Island: 'Dream\u0000' }];
      const clientId = `lookup-${configuration}-${Date.now()}`;
      let id = '';
      let staged: Record<string, unknown> = {};
      await chainer.pause();
      try {
        const p = await predict({ records: sent }, { 'x-request-id': clientId });
        assert.equal(p.status, 200, p.text);
        id = p.headers.get('x-request-id')!;
        staged = await auditRecord(kiln, id, auditor);
        assert.deepEqual([staged.seq, staged.loggedAt, staged.prevHash, staged.hash, staged.chained], [null, null, null, null, false]);
        assert.deepEqual(
          [staged.requestId, staged.clientRequestId, staged.model, staged.kind, staged.status],
          [id, clientId, MODEL, 'live', 200],
        );
        assert.deepEqual(staged.inputs, sent);
        assert.equal(staged.inputsSha256, sha256(canonicalJson(sent)));
        const unknown = await kiln.request('GET', `/api/audit/predictions/${uuidV7()}`, { key: auditor });
        assert.equal(unknown.status, 404, unknown.text);
      } finally {
        chainer.resume();
      }
      // once chained, the same lookup answers the log's record: the content the staged form showed, with its place in the chain
      const chained = await stored(id);
      assert.equal(typeof chained.seq, 'number');
      assert.match(chained.hash, /^[0-9a-f]{64}$/);
      assert.equal('chained' in chained, false, 'a chained record is its export line');
      const content = (r: Record<string, unknown>) => ({ ...r, seq: 0, loggedAt: 0, prevHash: 0, hash: 0, chained: 0 });
      assert.deepEqual(content(chained), content(staged));
    });
  });
}
