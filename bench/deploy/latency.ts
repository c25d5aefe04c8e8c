/**
 * bench/deploy/latency — what a split deployment costs per call, measured in one run against the
 * all-in-one process on the same machine, database and data (ratios are what count: the machine is shared).
 *
 * Setup once on the all-in-one process (`dist/src/main.js`, the machine's PostgreSQL + Redis, one scratch
 * database): a seeded 500 × 8 table, a small MLP trained on it (seed 7, promoted). Then, for the
 * all-in-one process and for the five `dist/apps/<app>/main.js` over each KILN_TRANSPORT (tcp, redis,
 * nats) on that same database:
 *   management — sequential calls through the gateway (all-in-one: the process itself), each of
 *                GET /api/datasets/:id (ingestion), GET /api/models/:name (registry, in the training app),
 *                GET /api/training-jobs/:id (training), GET /api/audit/events?limit=1 (audit); median and p95 ms;
 *   predict    — sequential single-record POST /api/models/:name/predict on the inference app (all-in-one:
 *                the process); median and p95 ms.
 * Each process's warm-up calls are not counted.
 *   npm run bench:split   (npm run build && node dist/bench/deploy/latency.js [calls per route, default 200])
 * Writes bench/results/split-latency.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../src/platform/util/free-port';
import { SpawnedKiln, spawnKiln } from '../../test/utils/spawn-kiln';
import { testEnvironment } from '../../test/utils/test-kiln';
import { trainSyntheticMlp, uploadSyntheticTable } from '../common/synthetic-mlp';
import { featureNames, predictBody } from '../serve/fixture';
import { apiClient, until } from '../serve/kiln-server';

const APPS_DIR = join(__dirname, '..', '..', 'apps');
const CALLS = Number(process.argv[2] ?? 200);
const WARMUP = 20;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const SETUPS = ['all-in-one', 'tcp', 'redis', 'nats'] as const;
type Setup = (typeof SETUPS)[number];

interface Stat {
  median: number;
  p95: number;
}
const stat = (xs: number[]): Stat => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 100) / 100;
  return { median: at(0.5), p95: at(0.95) };
};

async function timed(n: number, call: (i: number) => Promise<Response>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + n; i++) {
    const t0 = performance.now();
    const res = await call(i);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${res.url} → ${res.status}: ${body.slice(0, 300)}`);
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  return times;
}

async function ready(kiln: SpawnedKiln): Promise<string> {
  const url = await kiln.url;
  await until(async () => ((await fetch(`${url}/health/ready`).catch(() => null))?.status === 200 ? true : undefined), 50, 60_000);
  return url;
}

async function start(setup: Setup, env: Record<string, string>): Promise<{ running: SpawnedKiln[]; gateway: string; inference: string }> {
  const base = { ...env, KILN_QUEUE_PREFIX: `${env.KILN_QUEUE_PREFIX}${setup.replace(/-/g, '')}` };
  if (setup === 'all-in-one') {
    const all = spawnKiln(base);
    const url = await ready(all);
    return { running: [all], gateway: url, inference: url };
  }
  const common = { ...base, KILN_TRANSPORT: setup, NATS_URL };
  const rpc: Record<string, number> = {};
  for (const app of ['ingestion', 'training', 'audit', 'inference']) rpc[app] = await freeLoopbackPort();
  const envOf = (app: string): Record<string, string> =>
    app === 'gateway'
      ? {
          ...common,
          KILN_RPC_INGESTION: `127.0.0.1:${rpc.ingestion}`,
          KILN_RPC_TRAINING: `127.0.0.1:${rpc.training}`,
          KILN_RPC_AUDIT: `127.0.0.1:${rpc.audit}`,
          KILN_RPC_INFERENCE: `127.0.0.1:${rpc.inference}`,
        }
      : { ...common, KILN_RPC_PORT: String(rpc[app]) };
  const apps = ['gateway', 'ingestion', 'training', 'audit', 'inference'];
  const running = apps.map((app) => spawnKiln(envOf(app), join(APPS_DIR, app, 'main.js')));
  const urls = await Promise.all(running.map(ready));
  return { running, gateway: urls[0]!, inference: urls[4]! };
}

async function stop(running: SpawnedKiln[]): Promise<void> {
  for (const k of running) if (k.child.exitCode === null) k.child.kill('SIGTERM');
  await Promise.all(running.map((k) => k.exited));
}

async function main(): Promise<void> {
  const { env, cleanup } = await testEnvironment('redis', { KILN_LOG_LEVEL: 'warn' });
  const key = env.KILN_ADMIN_KEY!;
  const features = featureNames(8);
  const name = 'bench-split';
  const ids = { dataset: '', job: '' };
  const results: Partial<Record<Setup, Record<string, Stat>>> = {};
  try {
    for (const setup of SETUPS) {
      const { running, gateway, inference } = await start(setup, env);
      try {
        const api = apiClient(gateway, key);
        if (setup === 'all-in-one') {
          const { datasetId, versionId } = await uploadSyntheticTable(api, name, 500, 8, 12);
          const job = await trainSyntheticMlp(api, {
            datasetVersionId: versionId,
            modelName: name,
            features: 8,
            hyperparameters: { epochs: 3, batchSize: 64, hiddenUnits: [16], earlyStoppingPatience: 0, seed: 7 },
          });
          ids.dataset = datasetId;
          ids.job = job.id;
        }
        const get = (path: string) => () => fetch(`${gateway}${path}`, { headers: { authorization: `Bearer ${key}` } });
        const predict = (i: number) =>
          fetch(`${inference}/api/models/${name}/predict`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: predictBody(features, i),
          });
        await until(async () => ((await predict(0)).status === 200 ? true : undefined), 100, 30_000);
        const management = [
          ...(await timed(CALLS, get(`/api/datasets/${ids.dataset}`))),
          ...(await timed(CALLS, get(`/api/models/${name}`))),
          ...(await timed(CALLS, get(`/api/training-jobs/${ids.job}`))),
          ...(await timed(CALLS, get('/api/audit/events?limit=1'))),
        ];
        results[setup] = {
          'datasets.get': stat(management.slice(0, CALLS)),
          'models.get': stat(management.slice(CALLS, 2 * CALLS)),
          'training.get': stat(management.slice(2 * CALLS, 3 * CALLS)),
          'audit.events': stat(management.slice(3 * CALLS)),
          management: stat(management),
          predict: stat(await timed(CALLS, predict)),
        };
        console.log(`${setup}: ${JSON.stringify(results[setup])}`);
      } finally {
        await stop(running);
      }
    }
  } finally {
    await cleanup();
  }
  const base = results['all-in-one']!;
  console.log('\nsetup        management median / p95 ms (× all-in-one)     predict median / p95 ms (× all-in-one)');
  for (const setup of SETUPS) {
    const r = results[setup]!;
    const x = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      `${setup.padEnd(12)} ${r.management.median} / ${r.management.p95} (${x(r.management.median, base.management.median)}×)`.padEnd(60) +
        `${r.predict.median} / ${r.predict.p95} (${x(r.predict.median, base.predict.median)}×)`,
    );
  }
  const out = join(__dirname, '..', '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'split-latency.json'),
    JSON.stringify({ measuredAt: new Date().toISOString(), calls: CALLS, results }, null, 2) + '\n',
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
