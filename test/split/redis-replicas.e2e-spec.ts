/**
 * KILN_TRANSPORT=redis with two replicas of one domain app: Redis pub/sub delivers every request to
 * every subscribed replica, so without a guard one upload through the gateway became two dataset
 * versions (each replica accepted it). Each replica now claims the request id in Redis first and only
 * the winner handles and answers it (`ClaimOnceServerRedis`). Checked here with a gateway and two
 * ingestion replicas on the machine's Redis: a create and an upload each run exactly once (one dataset,
 * one version), and reads keep answering.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { startKiln } from '../../src/bootstrap';
import { loadConfig } from '../../src/platform/config/kiln-config';
import { createRootLogger } from '../../src/platform/logging/logging';
import { toCsv, upload } from '../ingestion/ingestion-helpers';
import { eventually, httpRequest, kilnClient, skipUnless, testEnvironment } from '../utils/test-kiln';

describe('redis transport, two replicas of the ingestion app: a write runs once', async () => {
  const skip = await skipUnless('redis');
  let environment: Awaited<ReturnType<typeof testEnvironment>> | undefined;
  const running: Array<Awaited<ReturnType<typeof startKiln>>> = [];
  let gateway = '';
  let key = '';

  before(async () => {
    if (skip) return;
    environment = await testEnvironment('redis', { KILN_TRANSPORT: 'redis' });
    const { env } = environment;
    key = env.KILN_ADMIN_KEY!;
    for (const roles of ['ingestion', 'ingestion', 'gateway']) {
      const config = loadConfig({ ...env, KILN_ROLES: roles });
      running.push(await startKiln(config, createRootLogger(config)));
    }
    gateway = running[2]!.url;
  });

  after(async () => {
    for (const kiln of running.reverse()) await kiln.close();
    await environment?.cleanup();
  });

  it('creates one dataset and one version for one call each, and reads still answer', { skip }, async () => {
    const call = (method: string, path: string, body?: unknown) =>
      httpRequest(gateway, key, method, path, body === undefined ? {} : { body });
    const created = await call('POST', '/api/datasets', { name: 'replicas' });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    const uploaded = await upload(
      kilnClient(gateway, key),
      id,
      toCsv([
        { x: 1, y: 2 },
        { x: 3, y: 4 },
      ]),
      { fileName: 'xy.csv' },
    );
    assert.equal(uploaded.status, 202, uploaded.text);
    await eventually(async () => {
      const v = await call('GET', `/api/datasets/${id}/versions/${uploaded.body.id}`);
      return v.body.status === 'ready' ? true : undefined;
    }, 30_000);

    const db = new Client({ connectionString: environment!.env.DATABASE_URL });
    await db.connect();
    try {
      const count = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;
      // Give a late duplicate (the old behaviour: the second replica handling the same request) time to land.
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(await count(`SELECT count(*)::int AS n FROM datasets`), 1, 'one dataset');
      assert.equal(await count(`SELECT count(*)::int AS n FROM dataset_versions`), 1, 'one version for one upload');
    } finally {
      await db.end();
    }

    // Reads answer every time (one replica each), with the same state.
    for (let i = 0; i < 20; i++) {
      const versions = await call('GET', `/api/datasets/${id}/versions`);
      assert.equal(versions.status, 200, versions.text);
      assert.deepEqual(
        versions.body.map((v: { id: string }) => v.id),
        [uploaded.body.id],
      );
    }
    const ready = (await (await fetch(`${gateway}/health/ready`)).json()) as { services: Record<string, { status: string }> };
    assert.equal(ready.services.ingestion?.status, 'up');
  });
});
