/**
 * Feedback, live monitoring and drift read the prediction log through the same committed-rows path
 * as the record lookup (src/audit/log/committed-predictions.ts): a row inserted straight into
 * `audit_predictions` beyond the chain head (or at seq 0) is no prediction for any of them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { Client } from 'pg';
import { DriftStore } from '../../src/audit/drift/drift-store';
import { AuditLogWriter } from '../../src/audit/log/audit-log.writer';
import { importLayersModel } from '../models/model-import-helpers';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { livePrediction } from './audit-records';

const MODEL = 'committed';
const REAL = 5;

/** A logged call of the test's model: a valid classification output, so monitoring and drift read it. */
const prediction = (requestId: string) =>
  livePrediction(requestId, [[0, 0, 0]], { model: MODEL, outputs: [{ label: 'a', probabilities: { a: 0.5, b: 0.5 }, score: 0.5 }] });

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('feedback, monitoring and drift read only committed prediction rows (postgres)', { skip }, () => {
    let kiln: TestKiln;
    let pg: Client;

    before(async () => {
      kiln = await startTestKiln('postgres');
      pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
      const m = tfl.sequential();
      m.add(tfl.layers.dense({ units: 2, activation: 'softmax', inputShape: [3] }));
      await importLayersModel(kiln, MODEL, m, {
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 2] }],
      });
      m.dispose();
      const writer = kiln.app.get(AuditLogWriter);
      await writer.writeBatch({
        payloadVersion: 1,
        predictions: Array.from({ length: REAL }, (_, i) => prediction(`real-${i}`)),
        events: [],
      });
    });

    after(async () => {
      await pg?.end();
      await kiln?.close();
    });

    for (const [label, seqOf] of [
      ['seq = head + 1', (h: number) => h + 1],
      ['seq = 0', () => 0],
    ] as const) {
      it(`a row forged at ${label} is not a prediction for feedback, monitoring or drift`, async () => {
        const head = Number((await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq);
        assert.equal(head, REAL);
        const forged = randomUUID();
        // a copy of the newest committed row under another request id, at a seq the writer never gave
        await pg.query(
          `INSERT INTO audit_predictions SELECT $1::bigint, logged_at, $2, served_at, caller_key_id, model, model_version, route, kind,
             canary, status, latency_ms, rows, inputs, inputs_sha256, outputs, error, prev_hash, hash, client_request_id
             FROM audit_predictions WHERE seq = $3`,
          [seqOf(head), forged, head],
        );
        try {
          // feedback: an unknown request id (404), not a logged prediction
          const fb = await kiln.request('POST', '/api/feedback', { body: { requestId: forged, actual: 'a' } });
          // monitoring: the committed records only
          const mon = await kiln.request('GET', `/api/models/${MODEL}/monitoring?window=1h`);
          assert.equal(mon.status, 200, mon.text);
          // drift: the window of logged predictions it compares
          const window = await kiln.app.get(DriftStore).loggedPredictions(MODEL, 1, 1000);
          assert.deepEqual(
            {
              feedback: [fb.status, fb.body.errors?.[0]?.field],
              monitoringRequests: mon.body.totals.requests,
              monitoringLabelled: mon.body.versions[0]?.predictions?.counts?.a,
              driftWindow: window.length,
            },
            { feedback: [404, 'requestId'], monitoringRequests: REAL, monitoringLabelled: REAL, driftWindow: REAL },
          );
        } finally {
          await pg.query(`DELETE FROM audit_predictions WHERE request_id = $1`, [forged]);
        }
      });
    }
  });
}

void main();
