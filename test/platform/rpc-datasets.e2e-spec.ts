/**
 * The first synchronous port across a split deployment: the gateway's dataset reads (`GET /api/datasets`,
 * `GET /api/datasets/:id`) answered by a separate ingestion process over each KILN_TRANSPORT (tcp, redis,
 * nats — the machine's nats-server at NATS_URL). Same answers as the ingestion app's own API, the same
 * 404 problem, a 503 naming the ingestion service within 5 s while it is down, and reads again after it restarts.
 * The gateway's /health/ready lists the ingestion service and whether it answers, through all three phases.
 */
import assert from 'node:assert/strict';
import { freeLoopbackPort } from '../../src/platform/util/free-port';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { readyUrl, SpawnedKiln, spawnKiln } from '../utils/spawn-kiln';
import { NATS_URL, natsUnavailable } from '../utils/nats';
import { eventually, httpRequest, skipUnless, testEnvironment } from '../utils/test-kiln';

const APPS = join(__dirname, '..', '..', 'apps');
const TRANSPORTS = ['tcp', 'redis', 'nats'] as const;

/** The gateway's readiness: still 200 with the ingestion app down (see HealthController), `services` tells. */
async function gatewayReadiness(
  url: string,
  transport: string,
): Promise<{ status: string; transport: string; message?: string; answeredBy?: string }> {
  const res = await fetch(`${url}/health/ready`);
  const body = (await res.json()) as { status: string; services?: Record<string, { status: string; transport: string; message?: string }> };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.status, 'ok');
  // Over TCP the gateway calls the services it has an address for (here KILN_RPC_INGESTION only); through a broker, every domain it lacks.
  const called = transport === 'tcp' ? ['ingestion'] : ['ingestion', 'training', 'models', 'audit', 'inference', 'batch'];
  assert.deepEqual(Object.keys(body.services ?? {}), called, `the gateway lists the services it calls: ${JSON.stringify(body)}`);
  return body.services!.ingestion!;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timedGets(url: string, key: string, n = 20): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await httpRequest(url, key, 'GET', '/api/datasets');
    times.push(performance.now() - t0);
    assert.equal(res.status, 200, res.text);
  }
  return median(times);
}

async function splitReads(t: TestContext, transport: (typeof TRANSPORTS)[number]): Promise<void> {
  const { env, cleanup } = await testEnvironment('redis');
  const key = env.KILN_ADMIN_KEY!;
  const rpcPort = await freeLoopbackPort();
  const common = { ...env, KILN_TRANSPORT: transport, NATS_URL };
  const ingestionEnv = { ...common, KILN_RPC_PORT: String(rpcPort) };
  const gatewayEnv = { ...common, KILN_RPC_INGESTION: `127.0.0.1:${rpcPort}` };
  const running: SpawnedKiln[] = [];
  const start = (app: string, appEnv: Record<string, string>) => {
    const kiln = spawnKiln(appEnv, join(APPS, app, 'main.js'));
    running.push(kiln);
    return kiln;
  };
  try {
    let ingestion = start('ingestion', ingestionEnv);
    const gateway = start('gateway', gatewayEnv);
    let ingestionUrl = await readyUrl(ingestion);
    const gatewayUrl = await readyUrl(gateway);

    const created = await httpRequest(ingestionUrl, key, 'POST', '/api/datasets', { body: { name: `rpc-${transport}`, description: 'x' } });
    assert.equal(created.status, 201, created.text);
    const direct = await httpRequest(ingestionUrl, key, 'GET', '/api/datasets');
    const through = await httpRequest(gatewayUrl, key, 'GET', '/api/datasets');
    assert.equal(through.status, 200, through.text);
    assert.deepEqual(through.body, direct.body);
    assert.equal(through.body.length, 1);
    const one = await httpRequest(gatewayUrl, key, 'GET', `/api/datasets/${created.body.id}`);
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.body, (await httpRequest(ingestionUrl, key, 'GET', `/api/datasets/${created.body.id}`)).body);

    const unknown = '/api/datasets/00000000-0000-4000-8000-000000000000';
    const [notFoundDirect, notFoundThrough] = await Promise.all([
      httpRequest(ingestionUrl, key, 'GET', unknown),
      httpRequest(gatewayUrl, key, 'GET', unknown),
    ]);
    assert.equal(notFoundThrough.status, 404, notFoundThrough.text);
    assert.equal(notFoundThrough.headers.get('content-type'), notFoundDirect.headers.get('content-type'));
    assert.match(notFoundThrough.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const withoutId = ({ requestId: _id, ...rest }: Record<string, unknown>) => rest;
    assert.deepEqual(withoutId(notFoundThrough.body), withoutId(notFoundDirect.body));

    const gatewayMs = await timedGets(gatewayUrl, key);
    const directMs = await timedGets(ingestionUrl, key);
    t.diagnostic(`${transport}: GET /api/datasets median ${gatewayMs.toFixed(2)} ms through the gateway, ${directMs.toFixed(2)} ms direct`);
    const up = await gatewayReadiness(gatewayUrl, transport);
    assert.equal(up.status, 'up', JSON.stringify(up));
    assert.equal(up.transport, transport);
    assert.match(up.answeredBy ?? '', new RegExp(`:${ingestion.child.pid}$`), 'answered by the ingestion process');
    // The ingestion app calls no other service: its readiness lists none.
    assert.equal(((await (await fetch(`${ingestionUrl}/health/ready`)).json()) as { services?: unknown }).services, undefined);

    ingestion.child.kill('SIGKILL');
    await ingestion.exited;
    for (const path of ['/api/datasets', `/api/datasets/${created.body.id}`]) {
      const t0 = Date.now();
      const down = await httpRequest(gatewayUrl, key, 'GET', path);
      const ms = Date.now() - t0;
      assert.equal(down.status, 503, `${path}: ${down.text}`);
      assert.match(down.body.detail, /^ingestion service did not answer within 3000 ms/);
      assert.ok(ms < 5_000, `503 within 5 s (${ms} ms)`);
    }
    const t0 = Date.now();
    const down = await gatewayReadiness(gatewayUrl, transport);
    assert.equal(down.status, 'down', JSON.stringify(down));
    assert.match(down.message ?? '', /^ingestion service did not answer within 3000 ms/);
    assert.ok(Date.now() - t0 < 5_000, `readiness answers within 5 s with ingestion down (${Date.now() - t0} ms)`);

    ingestion = start('ingestion', ingestionEnv);
    ingestionUrl = await readyUrl(ingestion);
    const again = await eventually(async () => {
      const res = await httpRequest(gatewayUrl, key, 'GET', '/api/datasets');
      return res.status === 200 ? res : undefined;
    }, 60_000);
    assert.deepEqual(again.body, (await httpRequest(ingestionUrl, key, 'GET', '/api/datasets')).body);
    const back = await gatewayReadiness(gatewayUrl, transport);
    assert.equal(back.status, 'up', JSON.stringify(back));
    assert.match(back.answeredBy ?? '', new RegExp(`:${ingestion.child.pid}$`), 'answered by the restarted ingestion process');

    // Both drain and exit 0 on SIGTERM with the transport connected (server and client closed by Nest).
    for (const kiln of [ingestion, gateway]) kiln.child.kill('SIGTERM');
    for (const kiln of [ingestion, gateway]) assert.equal(await kiln.exited, 0, `exits 0 on SIGTERM:\n${kiln.output().slice(-2000)}`);
  } finally {
    for (const kiln of running) if (kiln.child.exitCode === null && kiln.child.signalCode === null) kiln.child.kill('SIGKILL');
    await Promise.all(running.map((k) => k.exited));
    await cleanup();
  }
}

describe('split gateway dataset reads over KILN_TRANSPORT', async () => {
  const skip = (await skipUnless('redis')) || (await natsUnavailable());
  // The three transports in parallel (each its own database and processes) to keep the test short.
  it(
    'answers like the ingestion app, 503 while it is down, again after restart: tcp, redis, nats',
    { skip, timeout: 600_000 },
    async (t) => {
      const results = await Promise.allSettled(TRANSPORTS.map((transport) => splitReads(t, transport)));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${TRANSPORTS[i]}: ${(r.reason as Error).stack}`] : []));
      assert.deepEqual(failed, []);
    },
  );
});
