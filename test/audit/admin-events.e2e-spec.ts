/**
 * The admin audit trail on PostgreSQL: every mutating management call leaves exactly one event
 * (actor key id, action, target, before/after, request id) in the events hash chain; a refused call
 * leaves none; a new key's secret never reaches the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { Client } from 'pg';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { eventually, skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';
import { penguinRecords, penguinsVersion, trainModel } from '../inference/inference-helpers';
import { importLayersModel } from '../models/model-import-helpers';

interface EventRow {
  action: string;
  request_id: string;
  actor_key_id: string | null;
  target: Record<string, unknown>;
  before: any;
  after: any;
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('admin audit trail on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let db: Client;
    /** request id → the action its call must have logged. */
    const expected = new Map<string, string>();
    const adminKeyId = () => /^kiln_([A-Za-z0-9]{12})_/.exec(kiln.adminKey)![1];

    before(async () => {
      kiln = await startTestKiln('postgres');
      db = new Client({ connectionString: kiln.databaseUrl });
      await db.connect();
      await TfRuntime.initForTests();
    });
    after(async () => {
      await db?.end();
      await kiln?.close();
    });

    const expectEvent = (res: TestResponse, status: number, action: string) => {
      assert.equal(res.status, status, res.text);
      expected.set(res.headers.get('x-request-id')!, action);
      return res;
    };

    it('records every alias move a promotion makes: one alias.moved with system:promotion, before and after', async () => {
      const data = await penguinsVersion(kiln);
      const p1 = await trainModel(kiln, { datasetVersionId: data.id, modelName: 'promoted', target: 'Species', promote: 'if-better' });
      const p2 = await trainModel(kiln, {
        datasetVersionId: data.id,
        modelName: 'promoted',
        target: 'Species',
        promote: 'always',
        hyperparameters: { seed: 5 },
      });
      const aliases = await kiln.request('GET', '/api/models/promoted/versions');
      assert.equal(aliases.status, 200, aliases.text);
      const rows = await eventually(
        async () => {
          const r = await db.query<EventRow>(
            `SELECT action, request_id, actor_key_id, target, before, after FROM audit_events ` +
              `WHERE action = 'alias.moved' AND target->>'model' = 'promoted' ORDER BY seq`,
          );
          return r.rows.length >= 2 ? r.rows : undefined;
        },
        30_000,
        100,
      );
      await new Promise((r) => setTimeout(r, 1500)); // a duplicate, if any, would be written by now
      const all = await db.query<EventRow>(
        `SELECT action, request_id, actor_key_id, target, before, after FROM audit_events ` +
          `WHERE action = 'alias.moved' AND target->>'model' = 'promoted' ORDER BY seq`,
      );
      assert.equal(all.rows.length, 2, 'one event per move');
      assert.deepEqual(
        rows.map((e) => [e.actor_key_id, e.target, e.before, e.after]),
        [
          ['system:promotion', { model: 'promoted', alias: 'production' }, null, p1],
          ['system:promotion', { model: 'promoted', alias: 'production' }, p1, p2],
        ],
      );
      assert.match(rows[0]!.request_id, /^training-job:/);
      const history = await kiln.request('GET', '/api/models/promoted/aliases/production/history');
      assert.equal(history.body.length, 2, 'the alias history and the audit trail agree');
    });

    it('records every mutating management call, once, with actor, target and before/after', async () => {
      const key = expectEvent(await kiln.request('POST', '/api/keys', { body: { name: 'ci', role: 'predictor' } }), 201, 'key.created');
      const data = await penguinsVersion(kiln); // dataset.created + dataset-version.created (request ids read from the log below)
      const v1 = await trainModel(kiln, { datasetVersionId: data.id, modelName: 'audited', target: 'Species' });
      const v2 = await trainModel(kiln, {
        datasetVersionId: data.id,
        modelName: 'audited',
        target: 'Species',
        hyperparameters: { seed: 3 },
      });
      expectEvent(await kiln.request('PUT', '/api/models/audited/aliases/production', { body: { version: v1 } }), 200, 'alias.moved');
      const moved = expectEvent(
        await kiln.request('PUT', '/api/models/audited/aliases/production', { body: { version: v2 } }),
        200,
        'alias.moved',
      );
      const back = expectEvent(
        await kiln.request('PUT', '/api/models/audited/aliases/production', { body: { version: v1 } }),
        200,
        'alias.moved',
      );
      expectEvent(await kiln.request('PUT', '/api/models/audited/aliases/production', { body: { version: v2 } }), 200, 'alias.moved');
      expectEvent(await kiln.request('PUT', '/api/models/audited/aliases/staging', { body: { version: v1 } }), 200, 'alias.moved');
      expectEvent(await kiln.request('DELETE', '/api/models/audited/aliases/staging'), 200, 'alias.deleted');
      expectEvent(await kiln.request('PUT', '/api/models/audited/serving', { body: { maxBatchSize: 8 } }), 200, 'serving-settings.changed');
      expectEvent(
        await kiln.request('PUT', '/api/models/audited/deployment', {
          body: {
            routes: [
              { alias: 'production', weight: 9 },
              { version: v1, weight: 1 },
            ],
          },
        }),
        200,
        'deployment.changed',
      );
      expectEvent(await kiln.request('DELETE', '/api/models/audited/deployment'), 200, 'deployment.deleted');
      const batch = expectEvent(
        await kiln.request('POST', '/api/batch-predictions', { body: { model: 'audited', version: v1, datasetVersionId: data.id } }),
        202,
        'batch-prediction.started',
      );
      const cancelBatch = await kiln.request('POST', `/api/batch-predictions/${batch.body.id}/cancel`);
      if (cancelBatch.status === 202) expectEvent(cancelBatch, 202, 'batch-prediction.cancelled');
      const job = expectEvent(
        await kiln.request('POST', '/api/training-jobs', {
          body: { datasetVersionId: data.id, target: 'Species', modelName: 'audited', hyperparameters: { epochs: 200 } },
        }),
        202,
        'training.started',
      );
      const cancelJob = await kiln.request('POST', `/api/training-jobs/${job.body.id}/cancel`);
      if (cancelJob.status === 202) expectEvent(cancelJob, 202, 'training.cancelled');
      expectEvent(await kiln.request('POST', `/api/models/audited/versions/${v1}/archive`), 200, 'model-version.archived');
      const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
      await importLayersModel(kiln, 'audited-import', m, {
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
      });
      expectEvent(await kiln.request('DELETE', `/api/keys/${key.body.id}`), 200, 'key.revoked');
      // Refused calls leave nothing.
      const refused = await kiln.request('PUT', '/api/models/audited/aliases/production', { body: { version: 99 } });
      assert.equal(refused.status, 404);
      const denied = await kiln.request('POST', '/api/datasets', { body: { name: 'x' }, key: key.body.key });
      assert.equal(denied.status, 401);
      // The record API is the data plane: prediction log, not admin events.
      await kiln.request('POST', '/api/models/audited/predict', { body: { records: penguinRecords(1) } });

      // Each event was durable in the queue before its response; the audit worker writes them shortly after.
      const rows = await eventually(
        async () => {
          const r = await db.query<EventRow>(
            `SELECT action, request_id, actor_key_id, target, before, after FROM audit_events ORDER BY seq`,
          );
          const ids = new Set(r.rows.map((e) => e.request_id));
          const missing = [...expected].filter(([id]) => !ids.has(id)).map(([, action]) => action);
          if (!r.rows.some((e) => e.action === 'model.imported')) missing.push('model.imported');
          assert.deepEqual(missing, [], `events not written yet (${r.rows.length} written)`);
          return r.rows;
        },
        60_000,
        100,
      );
      const batchId = batch.headers.get('x-request-id');
      for (const [requestId, action] of expected) {
        const matching = rows.filter((e) => e.request_id === requestId && e.action === action);
        assert.equal(matching.length, 1, `${action} logged once`);
        assert.equal(matching[0]!.actor_key_id, adminKeyId());
        const others = rows.filter((e) => e.request_id === requestId && e.action !== action).map((e) => e.action);
        // the batch prediction without outputDatasetId also created its output dataset
        assert.deepEqual(others, requestId === batchId ? ['dataset.created'] : [], `${action}: no other event`);
      }
      const actions = new Set(rows.map((e) => e.action));
      for (const a of ['dataset.created', 'dataset-version.created', 'model.imported']) assert.ok(actions.has(a), a);
      assert.ok(!rows.some((e) => e.request_id === refused.headers.get('x-request-id')), 'a refused call leaves no event');
      assert.ok(!actions.has('prediction'), 'predictions are not admin events');

      const move = rows.find((e) => e.request_id === moved.headers.get('x-request-id'))!;
      assert.equal(move.before, v1);
      assert.equal(move.after, v2);
      assert.deepEqual(move.target, { model: 'audited', alias: 'production' });
      const moveBack = rows.find((e) => e.request_id === back.headers.get('x-request-id'))!;
      assert.deepEqual([moveBack.before, moveBack.after], [v2, v1], 'a 2 → 1 move says where the alias was');
      const firstMove = rows.find((e) => e.action === 'alias.moved' && e.target.model === 'audited')!;
      assert.deepEqual([firstMove.before, firstMove.after], [null, v1], 'a new alias had no version before');
      // Creates name what they created (no route params to take it from).
      const datasetCreated = rows.find((e) => e.action === 'dataset.created' && e.after.id === data.datasetId)!;
      assert.deepEqual(datasetCreated.target, { datasetId: data.datasetId, name: datasetCreated.after.name });
      const started = rows.find((e) => e.request_id === job.headers.get('x-request-id'))!;
      assert.deepEqual(started.target, { trainingJobId: job.body.id, datasetVersionId: data.id, model: 'audited' });
      const batchStarted = rows.find((e) => e.request_id === batchId && e.action === 'batch-prediction.started')!;
      assert.deepEqual(batchStarted.target, { batchPredictionId: batch.body.id, model: 'audited', version: v1, datasetVersionId: data.id });
      const outputCreated = rows.find((e) => e.request_id === batchId && e.action === 'dataset.created')!;
      assert.equal(outputCreated.actor_key_id, adminKeyId());
      assert.deepEqual(outputCreated.target, { datasetId: batch.body.outputDatasetId, name: outputCreated.after.name });
      assert.notEqual(batch.body.outputDatasetId, data.datasetId, 'a new dataset, not the input');
      const serving = rows.find((e) => e.action === 'serving-settings.changed')!;
      assert.equal(serving.before.maxBatchSize, 32, 'before: the defaults');
      assert.equal(serving.after.maxBatchSize, 8);
      const created = rows.find((e) => e.action === 'key.created')!;
      assert.equal(created.after.key, '[redacted]');
      assert.ok(!JSON.stringify(rows).includes(key.body.key), 'the secret is nowhere in the log');

      const verify = await kiln.request('GET', '/api/audit/verify?chain=events');
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.ok, true, verify.text);
      assert.ok(verify.body.checked >= expected.size);
    });
  });
}

void main();
