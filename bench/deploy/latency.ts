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
 *                the process); median and p95 ms, and the CPU time per call (/proc) of the serving process
 *                and of each other app meanwhile (what else runs per request or per interval);
 *   predict alone — the control cell: the same again once the other four apps are stopped (all-in-one: a
 *                second sample), so a difference that is the machine's cores being shared shows as such.
 * Each process's warm-up calls are not counted.
 *   npm run bench:split   (npm run build && node dist/bench/deploy/latency.js [calls per route, default 200])
 * Writes bench/results/split-latency.json (with --pin: split-latency-pinned.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../src/platform/util/free-port';
import { SpawnedKiln, spawnKiln } from '../../test/utils/spawn-kiln';
import { testEnvironment } from '../../test/utils/test-kiln';
import { trainSyntheticMlp, uploadSyntheticTable } from '../common/synthetic-mlp';
import { featureNames, predictBody } from '../serve/fixture';
import { cpuSecondsBetween, cpuSnapshot } from '../serve/proc-stats';
import { apiClient, until } from '../serve/kiln-server';

const APPS_DIR = join(__dirname, '..', '..', 'apps');
const args = process.argv.slice(2);
const CALLS = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
/**
 * `--pin`: the serving process (all-in-one, or the split inference app) on CPU 1, everything else (this
 * bench, the other apps) on CPU 0.
 */
const PIN = args.includes('--pin');
const pinned = (cpu: number): { prefix?: string[] } => (PIN ? { prefix: ['taskset', '-c', String(cpu)] } : {});
const WARMUP = 20;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const SETUPS = ['all-in-one', 'tcp', 'redis', 'nats'] as const;
/** The split apps in start order; the serving one (inference) last. */
const APPS = ['gateway', 'ingestion', 'training', 'audit', 'inference'];
type Setup = (typeof SETUPS)[number];

interface Stat {
  median: number;
  p95: number;
}
/** Predict latency plus CPU ms per call: of the serving process itself, and of the other Kiln processes meanwhile. */
interface PredictCell extends Stat {
  servingCpuMsPerCall: number;
  othersCpuMsPerCall: number;
  /** Per app: the split apps other than inference. */
  othersCpu: Record<string, number>;
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
    const all = spawnKiln(base, undefined, pinned(1));
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
  const running = APPS.map((app) => spawnKiln(envOf(app), join(APPS_DIR, app, 'main.js'), pinned(app === 'inference' ? 1 : 0)));
  const urls = await Promise.all(running.map(ready));
  return { running, gateway: urls[0]!, inference: urls[4]! };
}

/** `timed` predict calls, with the CPU time the serving process and each of the others spent meanwhile. */
async function predictCell(
  serving: SpawnedKiln,
  others: Record<string, SpawnedKiln>,
  call: (i: number) => Promise<Response>,
): Promise<PredictCell> {
  const all: Record<string, SpawnedKiln> = { serving, ...others };
  const before = Object.fromEntries(Object.entries(all).map(([app, k]) => [app, cpuSnapshot([k.child.pid!])]));
  const times = await timed(CALLS, call);
  const perCall = (s: number) => Math.round(((s * 1000) / (WARMUP + CALLS)) * 100) / 100;
  const cpu = Object.fromEntries(
    Object.entries(all).map(([app, k]) => [app, perCall(cpuSecondsBetween(before[app]!, cpuSnapshot([k.child.pid!])))]),
  );
  const { serving: servingCpuMsPerCall, ...othersCpu } = cpu;
  return {
    ...stat(times),
    servingCpuMsPerCall: servingCpuMsPerCall!,
    othersCpuMsPerCall: Math.round(Object.values(othersCpu).reduce((a, b) => a + b, 0) * 100) / 100,
    othersCpu,
  };
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
  if (PIN) execFileSync('taskset', ['-cp', '0', String(process.pid)]);
  const results: Partial<Record<Setup, Record<string, Stat | PredictCell>>> = {};
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
        };
        const serving = running[running.length - 1]!;
        const others = running.slice(0, -1);
        const named = Object.fromEntries(others.map((k, i) => [APPS[i]!, k]));
        results[setup]!.predict = await predictCell(serving, named, predict);
        // The control cell: the same serving process again, now alone (split: the other four apps
        // stopped; all-in-one: nothing to stop, so a second sample of the same). Predictions never
        // cross the transport, so a split inference app alone that matches all-in-one puts the
        // difference on the other processes sharing the machine's cores.
        await stop(others);
        results[setup]!.predictAlone = await predictCell(serving, {}, predict);
        console.log(`${setup}: ${JSON.stringify(results[setup])}`);
      } finally {
        await stop(running);
      }
    }
  } finally {
    await cleanup();
  }
  const base = results['all-in-one']!;
  console.log(
    '\nsetup        management median / p95 ms (× all-in-one)     ' +
      'predict median / p95 ms (×), CPU ms/call serving + others     predict alone',
  );
  for (const setup of SETUPS) {
    const r = results[setup]!;
    const x = (a: number, b: number) => (a / b).toFixed(2);
    const p = (c: PredictCell) =>
      `${c.median} / ${c.p95} (${x(c.median, (base.predict as PredictCell).median)}×), ${c.servingCpuMsPerCall} + ${c.othersCpuMsPerCall}`;
    console.log(
      `${setup.padEnd(12)} ${r.management!.median} / ${r.management!.p95} (${x(r.management!.median, base.management!.median)}×)`.padEnd(
        60,
      ) +
        p(r.predict as PredictCell).padEnd(48) +
        p(r.predictAlone as PredictCell),
    );
  }
  const out = join(__dirname, '..', '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, PIN ? 'split-latency-pinned.json' : 'split-latency.json'),
    JSON.stringify({ measuredAt: new Date().toISOString(), calls: CALLS, pinned: PIN, results }, null, 2) + '\n',
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
