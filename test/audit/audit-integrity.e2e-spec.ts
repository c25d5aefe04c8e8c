/**
 * Audit integrity: rows forged straight into the prediction log (a seq below 1, beyond the stored
 * chain head, or far beyond it; a removed record with the next one relinked) fail verification.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { canonicalJson, hashRecord } from '../../src/audit/chain';
import { AuditLogWriter } from '../../src/audit/log/audit-log.writer';
import { predictionContent } from '../../src/audit/log/chain-content';
import type { AuditPredictionRecord } from '../../src/contracts';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

function prediction(requestId: string): AuditPredictionRecord {
  const inputs = [{ x: 1 }];
  return {
    requestId,
    servedAt: new Date().toISOString(),
    callerKeyId: null,
    model: 'penguins',
    version: 1,
    route: 'record',
    kind: 'live',
    canary: false,
    status: 200,
    latencyMs: 1.5,
    rows: 1,
    inputs,
    inputsSha256: createHash('sha256').update(canonicalJson(inputs)).digest('hex'),
    outputs: [{ label: 'Adelie' }],
    error: null,
  };
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('audit integrity: forged rows (postgres)', { skip }, () => {
    let kiln: TestKiln;
    let pg: Client;
    let auditorKey: string;

    const verify = async () => {
      const res = await kiln.request('GET', '/api/audit/verify', { key: auditorKey });
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const head = async () => (await pg.query(`SELECT seq, hash FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0];

    /** Inserts a copy of the newest row at `seq`, linked to the head and with its hash recomputed. */
    async function forge(seq: string): Promise<string> {
      const h = await head();
      const requestId = `forged-${randomUUID()}`;
      const { rows } = await pg.query(`SELECT * FROM audit_predictions WHERE seq = $1`, [h.seq]);
      const r = rows[0];
      const hash = hashRecord(h.hash, predictionContent({
        seq, loggedAt: r.logged_at, requestId, servedAt: r.served_at, callerKeyId: r.caller_key_id, model: r.model,
        modelVersion: r.model_version, route: r.route, kind: r.kind, canary: r.canary, status: r.status,
        latencyMs: r.latency_ms, rows: r.rows, inputs: r.inputs, inputsSha256: r.inputs_sha256, outputs: r.outputs, error: r.error,
      }));
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
      await writer.writeBatch({ payloadVersion: 1, predictions: Array.from({ length: 5 }, (_, i) => prediction(`real-${i}`)), events: [] });
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
      const relinked = hashRecord(r2.hash, predictionContent({
        seq: 4, loggedAt: r4.logged_at, requestId: r4.request_id, servedAt: r4.served_at, callerKeyId: r4.caller_key_id,
        model: r4.model, modelVersion: r4.model_version, route: r4.route, kind: r4.kind, canary: r4.canary, status: r4.status,
        latencyMs: r4.latency_ms, rows: r4.rows, inputs: r4.inputs, inputsSha256: r4.inputs_sha256, outputs: r4.outputs, error: r4.error,
      }));
      await pg.query(`UPDATE audit_predictions SET prev_hash = $1, hash = $2 WHERE seq = 4`, [r2.hash, relinked]);
      const v = await verify();
      assert.deepEqual([v.ok, v.firstBroken?.seq, v.firstBroken?.reason], [false, 4, 'seq_gap']);
      // restore
      await pg.query(`UPDATE audit_predictions SET prev_hash = $1, hash = $2 WHERE seq = 4`, [r4.prev_hash, r4.hash]);
      await pg.query(`INSERT INTO audit_predictions SELECT (json_populate_record(NULL::audit_predictions, $1::json)).*`, [JSON.stringify(r3)]);
      assert.equal((await verify()).ok, true);
    });
  });
}

void main();
