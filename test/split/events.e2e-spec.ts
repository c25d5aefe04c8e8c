/**
 * Change events in a split deployment: an all-in-one process (which serves too) and a separate
 * inference app on the same PostgreSQL, the routing poll at its slowest (1.5 s). An alias move, a
 * serving-settings change and a key revocation made through one process reach the other as a
 * PostgreSQL notification (counted in its /metrics): the replica serves the moved alias within 2 s
 * and refuses a revoked key well inside the 5 s verified-key TTL that bounds it without events. When
 * the listener's connection is killed it reconnects, re-reads, and events flow again.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import { CHANGE_EVENTS_CHANNEL as MIGRATION_CHANNEL } from '../../migrations/1764920000000-platform-change-events';
import { CHANGE_EVENTS_CHANNEL, parseChangeEvent } from '../../src/platform/events';
import { VERIFIED_KEY_TTL_MS } from '../../src/platform/auth/api-keys.service';
import { MAIN, readyUrl, spawnKiln, type SpawnedKiln } from '../utils/spawn-kiln';
import { eventually, httpRequest, kilnClient, skipUnless, startTestKiln, testEnvironment, type TestKiln } from '../utils/test-kiln';
import { penguinRecords, penguinsVersion, trainModel } from '../inference/inference-helpers';
import { metric, servedVersion, startApp, stop } from './faults-helpers';

const MODEL = 'events-penguins';

describe('change events: parsing', () => {
  it('the listener and the migration name one channel', () => {
    assert.equal(CHANGE_EVENTS_CHANNEL, MIGRATION_CHANNEL);
  });
  it('accepts the two payloads the triggers send and ignores anything else', () => {
    assert.deepEqual(parseChangeEvent('{"topic":"routing","modelId":"m1"}'), { topic: 'routing', modelId: 'm1' });
    assert.deepEqual(parseChangeEvent('{"topic":"api-key","id":"k1"}'), { topic: 'api-key', id: 'k1' });
    for (const bad of [undefined, '', 'not json', 'null', '[]', '{"topic":"routing"}', '{"topic":"resync"}', '{"topic":"x","id":"1"}'])
      assert.equal(parseChangeEvent(bad), null, String(bad));
  });
});

describe('change events on embedded PostgreSQL', () => {
  let kiln: TestKiln | null = null;
  after(async () => kiln?.close());

  it('a key revoked by SQL (another replica, an operator) is refused at once', async () => {
    kiln = await startTestKiln('embedded');
    const created = await kiln.request('POST', '/api/keys', { body: { name: 'sql-revoked', role: 'predictor' } });
    assert.equal(created.status, 201, created.text);
    const use = () => httpRequest(kiln!.url, created.body.key, 'POST', '/api/models/none/predict', { body: { records: [{}] } });
    assert.equal((await use()).status, 404, 'the key is valid (and now cached): the model is what is missing');
    const db = new Client({ connectionString: kiln.databaseUrl });
    await db.connect();
    try {
      await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [created.body.id]);
    } finally {
      await db.end();
    }
    const revokedAt = Date.now();
    await eventually(async () => ((await use()).status === 401 ? true : undefined), VERIFIED_KEY_TTL_MS, 20);
    const refusedAfter = Date.now() - revokedAt;
    assert.ok(
      refusedAfter < VERIFIED_KEY_TTL_MS / 2,
      `refused after ${refusedAfter} ms (without the event: up to ${VERIFIED_KEY_TTL_MS} ms)`,
    );
    assert.ok((await metric(kiln.url, 'kiln_change_events_total{topic="api-key"}')) >= 1);
  });
});

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('change events between processes (configuration "postgres")', { skip }, () => {
    const started: SpawnedKiln[] = [];
    let cleanup: () => Promise<void> = async () => undefined;
    after(async () => {
      for (const k of started) await stop(k);
      await cleanup();
    });

    it('an alias move, serving settings and a key revocation reach the other replica as events', async () => {
      let env: Record<string, string>;
      ({ env, cleanup } = await testEnvironment('postgres', { KILN_ROUTING_REFRESH_MS: '1500' }));
      const all = spawnKiln(env, MAIN);
      started.push(all);
      const mainUrl = await readyUrl(all);
      const api = kilnClient(mainUrl, env.KILN_ADMIN_KEY!);
      const data = await penguinsVersion(api);
      for (let i = 0; i < 2; i++) await trainModel(api, { datasetVersionId: data.id, modelName: MODEL, target: 'Species' });
      const moved = await api.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } });
      assert.equal(moved.status, 200, moved.text);

      const { url: replicaUrl } = await startApp('inference', env, started);
      const key = env.KILN_ADMIN_KEY!;
      const records = penguinRecords(3);
      assert.equal(await metric(replicaUrl, 'kiln_change_events_listening'), 1, 'the replica listens');
      assert.equal(await servedVersion(replicaUrl, key, MODEL, records), 1);

      // Alias move on the all-in-one process → the replica hears of it and serves the new version.
      const before = await metric(replicaUrl, 'kiln_change_events_total{topic="routing"}');
      const at = Date.now();
      const r = await api.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 2 } });
      assert.equal(r.status, 200, r.text);
      for (const url of [mainUrl, replicaUrl])
        await eventually(async () => ((await servedVersion(url, key, MODEL, records)) === 2 ? true : undefined), 5_000, 10);
      const lag = Date.now() - at;
      assert.ok(lag <= 2_000, `both replicas served the moved alias after ${lag} ms`);
      assert.ok(
        (await metric(replicaUrl, 'kiln_change_events_total{topic="routing"}')) > before,
        'the move reached the replica as a routing event',
      );

      // Serving settings are routing too.
      const routingBefore = await metric(replicaUrl, 'kiln_change_events_total{topic="routing"}');
      const settings = await api.request('PUT', `/api/models/${MODEL}/serving`, { body: { maxBatchSize: 8 } });
      assert.ok(settings.status === 200, settings.text);
      await eventually(
        async () => ((await metric(replicaUrl, 'kiln_change_events_total{topic="routing"}')) > routingBefore ? true : undefined),
        5_000,
        20,
      );

      // A predictor key verified (and so cached) on the replica, revoked on the all-in-one process.
      const created = await api.request('POST', '/api/keys', { body: { name: 'events-predictor', role: 'predictor' } });
      assert.equal(created.status, 201, created.text);
      const predictor = created.body.key as string;
      const use = () => httpRequest(replicaUrl, predictor, 'POST', `/api/models/${MODEL}/predict`, { body: { records } });
      assert.equal((await use()).status, 200);
      const revoked = await api.request('DELETE', `/api/keys/${created.body.id}`);
      assert.ok(revoked.status === 200 || revoked.status === 204, revoked.text);
      const revokedAt = Date.now();
      await eventually(async () => ((await use()).status === 401 ? true : undefined), VERIFIED_KEY_TTL_MS, 20);
      const refusedAfter = Date.now() - revokedAt;
      assert.ok(
        refusedAfter < VERIFIED_KEY_TTL_MS / 2,
        `the replica refused the revoked key after ${refusedAfter} ms (without the event: up to ${VERIFIED_KEY_TTL_MS} ms)`,
      );
      assert.ok((await metric(replicaUrl, 'kiln_change_events_total{topic="api-key"}')) >= 1);

      // The listener's connection dies (a PostgreSQL restart or failover does that): it reconnects and re-reads.
      const db = new Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      try {
        const resyncs = await metric(replicaUrl, 'kiln_change_events_total{topic="resync"}');
        const killed = await db.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kiln-events' AND datname = current_database()`,
        );
        assert.equal(killed.rowCount, 2, 'one listener per process');
        await eventually(
          async () => ((await metric(replicaUrl, 'kiln_change_events_total{topic="resync"}')) > resyncs ? true : undefined),
          10_000,
          50,
        );
        assert.equal(await metric(replicaUrl, 'kiln_change_events_listening'), 1);
        const back = await api.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } });
        assert.equal(back.status, 200, back.text);
        const at2 = Date.now();
        await eventually(async () => ((await servedVersion(replicaUrl, key, MODEL, records)) === 1 ? true : undefined), 5_000, 10);
        assert.ok(Date.now() - at2 <= 2_000, 'events flow again after the reconnection');
      } finally {
        await db.end();
      }
    });
  });
}

void main();
