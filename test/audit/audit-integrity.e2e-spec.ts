/**
 * Audit integrity: rows forged straight into the prediction log (a seq below 1, beyond the stored
 * chain head, or far beyond it; a removed record with the next one relinked) fail verification; a
 * signed checkpoint catches a rewrite of the newest record together with the chain head; the
 * signing key is a 0600 file outside the embedded database directory and verifies the published
 * checkpoints.
 */
import assert from 'node:assert/strict';
import { randomUUID, verify as verifySignature } from 'node:crypto';
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { hashRecord } from '../../src/audit/chain';
import { AuditLogWriter } from '../../src/audit/log/audit-log.writer';
import { PREDICTION_COLUMNS, predictionContent, type StoredPrediction } from '../../src/audit/log/chain-content';
import { ArtifactStore } from '../../src/platform/artifacts';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { livePrediction } from './audit-records';

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('audit integrity: forged rows (postgres)', { skip }, () => {
    let kiln: TestKiln;
    let pg: Client;
    let auditorKey: string;

    const verify = async () => {
      const res = await kiln.request('GET', '/api/audit/verify?chain=predictions', { key: auditorKey });
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const head = async () => (await pg.query(`SELECT seq, hash FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0];

    /** What the chain hashes for the stored row at `seq`, with `changes` (what a forger writes instead). */
    const contentAt = async (seq: string | number, changes: Partial<StoredPrediction> = {}) => {
      const { rows } = await pg.query(`SELECT ${PREDICTION_COLUMNS} FROM audit_predictions WHERE seq = $1`, [seq]);
      return predictionContent({ ...(rows[0] as StoredPrediction), ...changes });
    };

    /** Inserts a copy of the newest row at `seq`, linked to the head and with its hash recomputed. */
    async function forge(seq: string): Promise<string> {
      const h = await head();
      const requestId = `forged-${randomUUID()}`;
      const hash = hashRecord(h.hash, await contentAt(h.seq, { seq, requestId, clientRequestId: null }));
      await pg.query(
        `INSERT INTO audit_predictions SELECT $1::bigint, logged_at, $2, served_at, caller_key_id, model, model_version, route, kind,
           canary, status, latency_ms, rows, inputs, inputs_sha256, outputs, error, $3, $4 FROM audit_predictions WHERE seq = $5`,
        [seq, requestId, h.hash, hash, h.seq],
      );
      return requestId;
    }

    before(async () => {
      kiln = await startTestKiln('postgres');
      pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
      const auditor = await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } });
      assert.equal(auditor.status, 201, auditor.text);
      auditorKey = auditor.body.key;
      const writer = kiln.app.get(AuditLogWriter);
      await writer.writeBatch({
        payloadVersion: 1,
        predictions: Array.from({ length: 5 }, (_, i) => livePrediction(`real-${i}`)),
        events: [],
      });
      assert.equal((await verify()).ok, true);
    });

    after(async () => {
      await pg?.end();
      await kiln?.close();
    });

    for (const [label, seqOf] of [
      ['seq = 0', () => '0'],
      ['seq = head + 1', (h: number) => String(h + 1)],
      ['seq = 10^12', () => '1000000000000'],
    ] as const) {
      it(`a row forged at ${label} fails verification, named by seq and reason`, async () => {
        const seq = seqOf(Number((await head()).seq));
        const requestId = await forge(seq);
        try {
          const v = await verify();
          assert.equal(v.ok, false, JSON.stringify(v));
          assert.deepEqual([v.firstBroken.seq, v.firstBroken.requestId, v.firstBroken.reason], [Number(seq), requestId, 'out_of_range']);
          // and the record lookup and listing never serve it as a record
          const lookup = await kiln.request('GET', `/api/audit/predictions/${requestId}`, { key: auditorKey });
          assert.equal(lookup.status, 404, lookup.text);
          const listed = await kiln.request('GET', '/api/audit/predictions?limit=500', { key: auditorKey });
          assert.equal(listed.status, 200, listed.text);
          assert.ok(!listed.body.items.some((p: { requestId: string }) => p.requestId === requestId), 'forged row listed');
        } finally {
          await pg.query(`DELETE FROM audit_predictions WHERE request_id = $1`, [requestId]);
        }
        assert.equal((await verify()).ok, true);
      });
    }

    it('a removed record whose successor is relinked (hash recomputed) is a seq gap', async () => {
      const { rows } = await pg.query(`SELECT * FROM audit_predictions WHERE seq IN (2, 3, 4) ORDER BY seq`);
      const [r2, r3, r4] = rows;
      await pg.query(`DELETE FROM audit_predictions WHERE seq = 3`);
      const relinked = hashRecord(r2.hash, await contentAt(4));
      await pg.query(`UPDATE audit_predictions SET prev_hash = $1, hash = $2 WHERE seq = 4`, [r2.hash, relinked]);
      const v = await verify();
      assert.deepEqual([v.ok, v.firstBroken?.seq, v.firstBroken?.reason], [false, 4, 'seq_gap']);
      // restore
      await pg.query(`UPDATE audit_predictions SET prev_hash = $1, hash = $2 WHERE seq = 4`, [r4.prev_hash, r4.hash]);
      await pg.query(`INSERT INTO audit_predictions SELECT (json_populate_record(NULL::audit_predictions, $1::json)).*`, [
        JSON.stringify(r3),
      ]);
      assert.equal((await verify()).ok, true);
    });

    it('a signed checkpoint catches the newest record rewritten together with the chain head', async () => {
      const created = await kiln.request('POST', '/api/audit/checkpoints');
      assert.equal(created.status, 201, created.text);
      const signed = created.body.checkpoints.find((c: { chain: string }) => c.chain === 'predictions');
      const h = await head();
      assert.deepEqual([signed.seq, signed.hash], [Number(h.seq), h.hash]);
      const before = await verify();
      assert.deepEqual([before.ok, before.checkpoint?.ok, before.checkpoint?.seq], [true, true, Number(h.seq)]);

      // rewrite the newest record's outputs, recompute its hash and the head: the unkeyed chain is consistent again
      const { rows } = await pg.query(`SELECT * FROM audit_predictions WHERE seq = $1`, [h.seq]);
      const r = rows[0];
      const outputs = [{ label: 'Gentoo' }];
      const rewritten = hashRecord(r.prev_hash, await contentAt(h.seq, { outputs }));
      await pg.query(`UPDATE audit_predictions SET outputs = $1::jsonb, hash = $2 WHERE seq = $3`, [
        JSON.stringify(outputs),
        rewritten,
        h.seq,
      ]);
      await pg.query(`UPDATE audit_chain_heads SET hash = $1 WHERE chain = 'predictions'`, [rewritten]);
      const after = await verify();
      assert.equal(after.ok, false, JSON.stringify(after));
      assert.deepEqual(
        [after.firstBroken.seq, after.firstBroken.reason, after.checkpoint.reason],
        [Number(h.seq), 'checkpoint_mismatch', 'hash_mismatch'],
      );

      // forging the checkpoint row to match (without the key) does not help: its signature fails
      const statement = JSON.parse(signed.statement);
      await pg.query(`UPDATE audit_checkpoints SET statement = $1 WHERE id = $2`, [
        JSON.stringify({ ...statement, hash: rewritten }),
        signed.id,
      ]);
      const forged = await verify();
      assert.deepEqual([forged.ok, forged.checkpoint.reason], [false, 'signature_invalid']);

      await pg.query(`UPDATE audit_checkpoints SET statement = $1 WHERE id = $2`, [signed.statement, signed.id]);
      await pg.query(`UPDATE audit_predictions SET outputs = $1::jsonb, hash = $2 WHERE seq = $3`, [
        JSON.stringify(r.outputs),
        r.hash,
        h.seq,
      ]);
      await pg.query(`UPDATE audit_chain_heads SET hash = $1 WHERE chain = 'predictions'`, [r.hash]);
      assert.equal((await verify()).ok, true);
    });
  });

  const skipEmbedded = await skipUnless('embedded');
  describe('audit integrity: the checkpoint signing key (embedded)', { skip: skipEmbedded }, () => {
    let kiln: TestKiln;

    before(async () => {
      kiln = await startTestKiln('embedded', { KILN_AUDIT_CHECKPOINT_INTERVAL_MS: '1000' });
    });

    after(async () => {
      await kiln?.close();
    });

    it('is a 0600 file under the data dir, outside the embedded database directory, and verifies the published checkpoints', async () => {
      const created = await kiln.request('POST', '/api/audit/checkpoints');
      assert.equal(created.status, 201, created.text);
      const file = join(kiln.dataDir, 'keys', 'audit-signing.pem');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.ok(relative(join(kiln.dataDir, 'pg'), file).startsWith('..'), 'the key is not inside the database directory');
      const auditor = await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } });
      const listed = await kiln.request('GET', '/api/audit/checkpoints', { key: auditor.body.key });
      assert.equal(listed.status, 200, listed.text);
      const { publicKey, latest } = listed.body;
      assert.equal(publicKey.algorithm, 'ed25519');
      for (const chain of ['predictions', 'events']) {
        const c = latest[chain];
        assert.ok(c, `a checkpoint of ${chain}`);
        assert.equal(verifySignature(null, Buffer.from(c.statement), publicKey.publicKeyPem, Buffer.from(c.signature, 'base64')), true);
        assert.deepEqual(JSON.parse(c.statement), {
          type: 'kiln.audit-checkpoint',
          version: 1,
          chain,
          seq: c.seq,
          hash: c.hash,
          at: c.at,
          keyId: publicKey.keyId,
        });
        // the exported copy in the artifact store is the same signed statement
        const exported = JSON.parse((await kiln.app.get(ArtifactStore).getBuffer(c.artifactSha256)).toString('utf8'));
        assert.deepEqual(exported, { statement: c.statement, signature: c.signature, publicKeyPem: publicKey.publicKeyPem });
      }
      // a tampered statement does not verify
      const tampered = JSON.stringify({ ...JSON.parse(latest.predictions.statement), seq: latest.predictions.seq + 1 });
      assert.equal(
        verifySignature(null, Buffer.from(tampered), publicKey.publicKeyPem, Buffer.from(latest.predictions.signature, 'base64')),
        false,
      );
      // only admins take checkpoints
      assert.equal((await kiln.request('POST', '/api/audit/checkpoints', { key: auditor.body.key })).status, 403);
      const v = await kiln.request('GET', '/api/audit/verify', { key: auditor.body.key });
      // without ?chain= every chain is verified against its newest checkpoint
      assert.deepEqual(
        [v.body.ok, v.body.chains?.predictions?.checkpoint?.ok, v.body.chains?.events?.checkpoint?.ok],
        [true, true, true],
        v.text,
      );
    });

    it('the periodic job signs a chain head that moved since its newest checkpoint', async () => {
      const before = (await kiln.request('GET', '/api/audit/checkpoints')).body.latest.events;
      assert.equal((await kiln.request('POST', '/api/keys', { body: { name: 'moves the events head', role: 'predictor' } })).status, 201);
      const signed = await eventually(async () => {
        const latest = (await kiln.request('GET', '/api/audit/checkpoints')).body.latest.events;
        return latest && latest.seq > before.seq ? latest : undefined;
      });
      const v = await kiln.request('GET', '/api/audit/verify?chain=events');
      assert.deepEqual([v.body.ok, v.body.checkpoint?.id, v.body.checkpoint?.ok], [true, signed.id, true]);
    });
  });
}

void main();
