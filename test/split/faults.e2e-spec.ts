/**
 * Faults in a split deployment: the five apps as separate processes (`dist/apps/<app>/main.js`) on
 * the machine's PostgreSQL and Redis, inference with two replicas.
 *
 * - `kill -9` of the training app mid-job, another training app started: the job completes once
 *   (every epoch in its history exactly once) and registers exactly one model version.
 * - Two inference replicas both serve a newly moved alias within 2 s (a functional bound).
 * - The audit app stopped (kill -9) while predictions flow on both replicas, then started again: every
 *   answered prediction has exactly one record, there is no other, and the chains verify.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import type { SpawnedKiln } from '../utils/spawn-kiln';
import { eventually, httpRequest, kilnClient, skipUnless, testEnvironment } from '../utils/test-kiln';
import { createDataset, readyVersion, toCsv, vegaFile, type JsonRow } from '../ingestion/ingestion-helpers';
import { penguinRecords, penguinsVersion, trainModel } from '../inference/inference-helpers';
import { servedVersion, startApp, stop } from './faults-helpers';

const LOCK_MS = 3_000;

async function main(): Promise<void> {
  const skip = await skipUnless('redis');
  describe('faults in split mode (five apps, configuration "redis")', { skip }, () => {
    const started: SpawnedKiln[] = [];
    let cleanup: () => Promise<void> = async () => undefined;
    let env: Record<string, string>;
    let gateway: string;
    let auditApp: SpawnedKiln;
    after(async () => {
      for (const k of started) await stop(k);
      await cleanup();
    });

    it('starts the apps', async () => {
      ({ env, cleanup } = await testEnvironment('redis', { KILN_TRAINING_LOCK_MS: String(LOCK_MS) }));
      // The gateway first: it applies the migrations the others wait for (under the advisory lock anyway).
      gateway = (await startApp('gateway', env, started)).url;
      const [, audit] = await Promise.all([startApp('ingestion', env, started), startApp('audit', env, started)]);
      auditApp = audit.kiln;
    });

    it('kill -9 of the training app mid-job: another finishes it, once, with one model version', async () => {
      const first = await startApp('training', env, started);
      const api = kilnClient(gateway, env.KILN_ADMIN_KEY!);
      const cars = (JSON.parse(vegaFile('cars.json').toString('utf8')) as JsonRow[]).map((c) => ({
        Origin: c.Origin ?? null,
        Horsepower: c.Horsepower ?? null,
        Weight_in_lbs: c.Weight_in_lbs ?? null,
        Miles_per_Gallon: c.Miles_per_Gallon ?? null,
      }));
      const version = await readyVersion(api, await createDataset(api, 'cars'), toCsv(cars), { fileName: 'cars.csv' });
      const epochs = 40;
      const created = await api.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId: version.id,
          target: 'Miles_per_Gallon',
          modelName: 'cars-split',
          hyperparameters: { epochs, batchSize: 8, learningRate: 0.001, hiddenUnits: [16], seed: 5, earlyStoppingPatience: 10_000 },
        },
      });
      assert.equal(created.status, 202, created.text);
      const id = created.body.id as string;
      const atKill = await eventually(
        async () => {
          const r = await api.request('GET', `/api/training-jobs/${id}`);
          return r.body.status === 'running' && (r.body.checkpointEpoch ?? 0) >= 2 ? r.body : undefined;
        },
        90_000,
        20,
      );
      await stop(first.kiln, 'SIGKILL');
      assert.ok(atKill.checkpointEpoch < epochs, 'killed mid-training');

      const second = await startApp('training', env, started);
      const done = await eventually(
        async () => {
          const r = await api.request('GET', `/api/training-jobs/${id}`);
          if (r.body.status === 'failed' || r.body.status === 'cancelled')
            assert.fail(`job ${r.body.status}: ${JSON.stringify(r.body.error)}\n${second.kiln.output().slice(-3000)}`);
          return r.body.status === 'succeeded' ? r.body : undefined;
        },
        180_000,
        250,
      );
      assert.ok(done.attempts >= 2, `attempts ${done.attempts}`);
      assert.deepEqual(
        done.history.map((h: { epoch: number }) => h.epoch),
        Array.from({ length: epochs }, (_, i) => i + 1),
        'every epoch once across the kill',
      );
      const versions = await api.request('GET', '/api/models/cars-split/versions');
      assert.equal(versions.status, 200, versions.text);
      assert.equal(versions.body.length, 1, 'exactly one model version');
      assert.ok(versions.body[0].lineage?.resumedFromEpoch > 0 || done.attempts >= 2);
      const jobs = await api.request('GET', '/api/training-jobs?model=cars-split');
      assert.equal(jobs.status, 200, jobs.text);
      assert.equal(jobs.body.length, 1, 'one job');
    });

    const MODEL = 'split-penguins';
    let replicas: string[] = [];
    it('two inference replicas both serve a newly moved alias within 2 s', async () => {
      const api = kilnClient(gateway, env.KILN_ADMIN_KEY!);
      const data = await penguinsVersion(api);
      for (let i = 0; i < 2; i++) await trainModel(api, { datasetVersionId: data.id, modelName: MODEL, target: 'Species' });
      assert.equal((await api.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } })).status, 200);
      replicas = (await Promise.all([startApp('inference', env, started), startApp('inference', env, started)])).map((r) => r.url);
      const key = env.KILN_ADMIN_KEY!;
      const records = penguinRecords(3);
      for (const url of replicas) assert.equal(await servedVersion(url, key, MODEL, records), 1);
      for (const target of [2, 1]) {
        const moved = await api.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: target } });
        assert.equal(moved.status, 200, moved.text);
        const at = Date.now();
        await Promise.all(
          replicas.map((url) =>
            eventually(async () => ((await servedVersion(url, key, MODEL, records)) === target ? true : undefined), 5_000, 10),
          ),
        );
        const lag = Date.now() - at;
        assert.ok(lag <= 2_000, `both replicas served version ${target} after ${lag} ms`);
      }
    });

    it('the audit app stopped while predictions flow and started again: no audit record lost', async () => {
      const records = penguinRecords(20);
      const answered: string[] = [];
      let sent = 0;
      let stopFlow = false;
      const failures: string[] = [];
      const client = async (c: number) => {
        for (let i = 0; !stopFlow; i++) {
          const requestId = `auditstop-${c}-${i}`;
          sent++;
          const r = await httpRequest(replicas[c % 2]!, env.KILN_ADMIN_KEY!, 'POST', `/api/models/${MODEL}/predict`, {
            body: { records: [records[i % records.length]] },
            headers: { 'x-request-id': requestId },
          });
          if (r.status === 200) answered.push(requestId);
          else failures.push(`${r.status} ${r.text}`);
        }
      };
      const flow = Array.from({ length: 4 }, (_, c) => client(c));
      const answeredAtLeast = (n: number) => eventually(async () => (answered.length >= n ? true : undefined), 60_000, 10);
      await answeredAtLeast(50);
      await stop(auditApp, 'SIGKILL');
      const atStop = answered.length;
      await answeredAtLeast(atStop + 100); // answered while no audit app runs
      const restarted = await startApp('audit', env, started);
      await answeredAtLeast(answered.length + 50);
      stopFlow = true;
      await Promise.all(flow);
      assert.deepEqual(failures, [], 'predictions never failed while the audit app was down');

      const db = new Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      try {
        const stored = await eventually(
          async () => {
            const r = await db.query<{ client_request_id: string }>(
              `SELECT client_request_id FROM audit_predictions WHERE client_request_id LIKE 'auditstop-%'`,
            );
            return r.rows.length >= answered.length ? r.rows.map((x) => x.client_request_id) : undefined;
          },
          60_000,
          200,
        ).catch((err: Error) => assert.fail(`${err.message}\n${restarted.kiln.output().slice(-2000)}`));
        assert.equal(new Set(stored).size, stored.length, 'no record twice');
        assert.deepEqual([...stored].sort(), [...answered].sort(), 'one record per answered prediction, none other');
        assert.equal(sent, answered.length, 'every call sent was answered');
      } finally {
        await db.end();
      }
      const verify = await httpRequest(gateway, env.KILN_ADMIN_KEY!, 'GET', '/api/audit/verify');
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.ok, true, verify.text);
    });
  });
}

void main();
