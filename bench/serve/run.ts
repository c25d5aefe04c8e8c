/**
 * bench/serve — Kiln's record API (`POST /api/models/{name}/predict`, one record per request) under
 * load, with dynamic batching off (maxBatchSize 1) and on (maxBatchSize 32, maxQueueDelayMs 0: the
 * defaults), at 1, 16 and 64 concurrent clients, next to two ceilings measured in the same run:
 *
 *   npm run bench:serve                    (= npm run build --silent && node dist/bench/serve/run.js)
 *   BENCH_SECONDS=10 BENCH_CLIENTS=1,16,64 BENCH_MODELS=small,large BENCH_PROFILE_SECONDS=5 npm run bench:serve
 *   DATABASE_URL=postgres://… npm run bench:serve      (machine PostgreSQL instead of the embedded one)
 *   BENCH_AUDIT_CLIENTS=1,16,64 BENCH_AUDIT_REPS=3 npm run bench:serve   (the auditing comparison; empty = skip)
 *   BENCH_AUDIT_BACKENDS=postgres npm run bench:serve   (default both: postgres, postgres+redis)
 *   BENCH_QUICK=1 npm run bench:serve      (iteration: small model, 1 and 64 clients, 3 s cells, 1 repetition, no profile)
 *   BENCH_OUT=/tmp/serve.json KILN_…=… npm run bench:serve   (other KILN_* settings reach the server)
 *
 * Models, trained through Kiln's API (dataset uploaded as `{records}` with a declared schema, then
 * `POST /api/training-jobs`, promote `always`) on a GENERATED table (bench fixture, fixture.ts:
 * BENCH_ROWS seeded standard-normal features f000…f099, label yes/no from a logistic ground truth;
 * 1–2 epochs: this measures serving, not accuracy):
 *   small  30 features → 64 → 32 → 1        (HTTP-bound)
 *   large  100 features → 512 → 512 → 512 → 1 (compute-bound)
 *
 * Processes (2-core machine: the load generator must not share the server's event loop):
 *   - Kiln: `node dist/src/main.js` as a child (KILN_DATA_DIR a temp dir, PORT 0, KILN_TF_BACKEND
 *     wasm unless set, KILN_LOG_LEVEL warn; embedded PostgreSQL unless DATABASE_URL is set);
 *   - HTTP ceiling: a bare `node:http` server child (bare-http.ts) that reads and parses the same
 *     request body and answers a JSON body of the same bytes as Kiln's response;
 *   - this process: autocannon (programmatic), keep-alive, one request in flight per client.
 * Model ceiling: in this process, `model.predict` of the same version's bytes (read from Kiln's
 * artifact store) on the same backend at batch sizes 1, 8, 32, 128 (Kiln idle meanwhile).
 *
 * Each cell: BENCH_WARMUP_SECONDS (default 1) warm-up, then BENCH_SECONDS (default 5) measured;
 * per model and client count the cells run back to back (bare, off, on) so a ratio compares
 * neighbours in time. Also recorded per cell: Kiln's /metrics view (mean rows per model call, mean
 * inference and HTTP time) and CPU ms per request of the server's node process and its PostgreSQL
 * processes (/proc), the load generator's share of a core, and the cores other processes on the
 * (shared) machine took meanwhile. "on / bare, CPU-bound" = bare CPU per request ÷ Kiln's (node +
 * PostgreSQL): the req/s ratio if each server had the same CPU to itself, steadier than req/s when
 * neighbours load the machine. Latency: autocannon's latency.p50/p99 (whole ms) and the same
 * percentiles from every response's fractional time.
 * BENCH_PROFILE_SECONDS > 0 (default 5): afterwards Kiln is restarted with `--cpu-prof` and each
 * model is driven at 64 clients, batching on then off, for that long each; the main thread's profile
 * over exactly each window is summarised (CPU by owner — model, preprocessing, audit log, auth, JSON
 * parse, Nest, Fastify, socket writes… — plus top self and inclusive functions; cpu-profile.ts).
 * The raw .cpuprofile is kept in a temp dir (path printed). 0 skips it.
 *
 * The serving cells run with the prediction log off (KILN_AUDIT=off: the data plane alone). Then the
 * auditing comparison (auditComparison), per configuration (embedded PostgreSQL alone; PostgreSQL +
 * Redis queues): the small model, batching on, at BENCH_AUDIT_CLIENTS (default 1 and 64): bare
 * node:http, Kiln audit off, Kiln audit on (answered, and sustained = until the log has caught up, with
 * the catch-up time), BENCH_AUDIT_REPS times (default 2), medians. Each configuration runs on its own
 * copy of the data directory as the serving cells left it, so neither inherits the other's log.
 *
 * Targets (printed pass/fail, not asserted): small at 64 clients ≥ 40 % of bare-HTTP req/s with
 * p99 ≤ 20 ms; large at 64 clients, batching on ≥ 2× off at equal or lower p99; at 1 client,
 * batching on never more than 10 % slower than off; auditing costs ≤ 20 % of the small model's
 * req/s at 64 clients; per configuration, audit on sustained ≥ 40 % of bare at p99 ≤ 20 ms, audit
 * on ≥ 80 % of off (sustained), audit adds ≤ 1 ms p50 at 1 client. Writes bench/results/serve.json.
 */
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import autocannon from 'autocannon';
import { openArtifactStore } from '../../src/platform/artifacts/open-artifact-store';
import { loadConfig } from '../../src/platform/config/kiln-config';
import type { ModelJson } from '../../src/platform/tfjs/artifact-io';
import { TfRuntime, backendChoiceFromEnv } from '../../src/platform/tfjs/tf-runtime';
import { summarise, type CpuProfile, type ProfileSummary } from './cpu-profile';
import { uploadSyntheticTable, trainSyntheticMlp } from '../common/synthetic-mlp';
import { featureNames, predictBody } from './fixture';
import { apiClient, benchKilnEnv, startKilnChild, until, type Api, type KilnChild } from './kiln-server';
import { scrapeMetrics, serverView, sum, type ServerView } from './kiln-metrics';
import { runCell, type CellResult } from './load';
import { modelCeiling, type CeilingRow } from './model-ceiling';
import { cpuSecondsBetween, cpuSnapshot, descendants } from './proc-stats';
import { runBench } from '../common/run-bench';

/** BENCH_QUICK=1: shorter defaults for iterating (small model only, 3 s cells, one audit repetition, no profile). */
const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 3 : 5));
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const CLIENTS = (process.env.BENCH_CLIENTS ?? (QUICK ? '1,64' : '1,16,64')).split(',').filter(Boolean).map(Number);
const ROWS = Number(process.env.BENCH_ROWS ?? (QUICK ? 2000 : 5000));
const PROFILE_SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? (QUICK ? 0 : 5));
const CEILING_BATCHES = [1, 8, 32, 128];
const SEED = 20251201;

interface ModelSpec {
  key: 'small' | 'large';
  features: number;
  hiddenUnits: number[];
  epochs: number;
}
const MODELS: ModelSpec[] = [
  { key: 'small', features: 30, hiddenUnits: [64, 32], epochs: 2 },
  { key: 'large', features: 100, hiddenUnits: [512, 512, 512], epochs: 1 },
].filter((m) => (process.env.BENCH_MODELS ?? (QUICK ? 'small' : 'small,large')).split(',').includes(m.key)) as ModelSpec[];

const BATCHING = {
  off: { maxBatchSize: 1, maxQueueDelayMs: 0 },
  on: { maxBatchSize: 32, maxQueueDelayMs: 0 },
} as const;

interface Prepared {
  spec: ModelSpec;
  name: string;
  version: number;
  inputWidth: number;
  trainSeconds: number;
  requestBody: string;
  responseBody: string;
  artifacts: { modelJson: string; weights: string };
}

interface Cell extends CellResult {
  model: string;
  clients: number;
  server: 'bare-http' | 'kiln batching off' | 'kiln batching on';
  kiln?: ServerView;
}

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The commit measured and how many files under src/ differed from it (the tree is shared and edited). */
function gitState(): { commit: string; uncommittedSrcFiles: number } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).trim();
    return {
      commit: git('rev-parse', 'HEAD'),
      uncommittedSrcFiles: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length,
    };
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Uploads the fixture table and trains every model through the API; returns what the cells need. */
async function prepare(api: Api, predict: (name: string, body: string) => Promise<Response>): Promise<Prepared[]> {
  const maxFeatures = Math.max(...MODELS.map((m) => m.features));
  const { versionId } = await uploadSyntheticTable(api, `bench-serve-${randomBytes(3).toString('hex')}`, ROWS, maxFeatures, SEED);

  const out: Prepared[] = [];
  for (const spec of MODELS) {
    const features = featureNames(spec.features);
    const name = `bench-serve-${spec.key}`;
    const t0 = performance.now();
    const done = await trainSyntheticMlp(api, {
      datasetVersionId: versionId,
      modelName: name,
      features: spec.features,
      hyperparameters: {
        epochs: spec.epochs,
        batchSize: 64,
        learningRate: 0.005,
        hiddenUnits: spec.hiddenUnits,
        dropout: 0,
        earlyStoppingPatience: 0,
        seed: 7,
      },
    });
    const trainSeconds = (performance.now() - t0) / 1000;
    const v = await api('GET', `/api/models/${name}/versions/${done.modelVersion.version}`);
    const requestBody = predictBody(features, SEED + spec.features);
    // The production alias is picked up by the routing poll; wait until the record API answers.
    const responseBody = await until(
      async () => {
        const res = await predict(name, requestBody);
        const text = await res.text();
        return res.status === 200 ? text : undefined;
      },
      100,
      30_000,
    );
    out.push({
      spec,
      name,
      version: v.version,
      inputWidth: v.preprocessing.width,
      trainSeconds,
      requestBody,
      responseBody,
      artifacts: v.artifacts,
    });
    console.log(
      `trained ${name} v${v.version} in ${trainSeconds.toFixed(1)} s (input width ${v.preprocessing.width}); ` +
        `response ${Buffer.byteLength(responseBody)} B: ${responseBody}`,
    );
  }
  return out;
}

/** The bare node:http server child; `setBody` switches the response it sends. */
async function startBare(): Promise<{ url: string; pid: number; setBody(body: string): Promise<void>; stop(): void }> {
  const child = fork(join(__dirname, 'bare-http.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`bare-http exited ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/predict`,
    pid: child.pid!,
    setBody: (body) =>
      new Promise<void>((resolve) => {
        child.once('message', () => resolve());
        child.send({ body });
      }),
    stop: () => child.disconnect(),
  };
}

async function setBatching(api: Api, name: string, mode: keyof typeof BATCHING, refreshMs: number): Promise<void> {
  await api('PUT', `/api/models/${name}/serving`, BATCHING[mode]);
  await sleep(refreshMs * 3); // applied by the next routing poll
}

/**
 * Restarts Kiln under --cpu-prof, drives each model at 64 clients with batching on, then off, and
 * summarises each window. The raw profile stays in a temp dir (printed) for Chrome DevTools.
 */
async function profile(
  env: Record<string, string>,
  key: string,
  models: Prepared[],
  refreshMs: number,
  modes: ReadonlyArray<'on' | 'off'> = ['on', 'off'],
  label = '',
): Promise<{ file: string; windows: Record<string, ProfileSummary & { clock: string }> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-serve-prof-'));
  const kiln = await startKilnChild(env, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const api = apiClient(kiln.url, env.KILN_ADMIN_KEY!);
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const windows: Array<{ name: string; from: number; to: number }> = [];
  let exitUs = 0;
  try {
    for (const m of models) {
      await until(
        async () =>
          (await fetch(`${kiln.url}/api/models/${m.name}/predict`, { method: 'POST', headers, body: m.requestBody })).status === 200
            ? true
            : undefined,
        100,
        30_000,
      );
      for (const mode of modes) {
        await setBatching(api, m.name, mode, refreshMs);
        const opts = { url: `${kiln.url}/api/models/${m.name}/predict`, method: 'POST', headers, body: m.requestBody, connections: 64 };
        await autocannon({ ...opts, duration: Math.max(WARMUP, 2) });
        const from = nowUs();
        await autocannon({ ...opts, duration: PROFILE_SECONDS });
        windows.push({ name: `${m.spec.key} batching ${mode}${label}`, from, to: nowUs() });
      }
    }
  } finally {
    await kiln.stop();
    exitUs = nowUs();
  }
  const file = readdirSync(dir).find((f) => f.includes(`.${kiln.pid}.0.`));
  if (!file) throw new Error(`no main-thread profile in ${dir}: ${readdirSync(dir).join(', ')}`);
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const out: Record<string, ProfileSummary & { clock: string }> = {};
  for (const w of windows) {
    // Same monotonic clock normally; if not, place the window relative to the process exit.
    const sameClock = w.from >= prof.startTime && w.to <= prof.endTime;
    const [from, to] = sameClock ? [w.from, w.to] : [prof.endTime - (exitUs - w.from), prof.endTime - (exitUs - w.to)];
    out[w.name] = { ...summarise(prof, from, to), clock: sameClock ? 'monotonic' : 'relative to exit' };
  }
  return { file: join(dir, file), windows: out };
}

/** Client counts of the audit on/off comparison (BENCH_AUDIT_CLIENTS; empty = skip it). */
const AUDIT_CLIENTS = (process.env.BENCH_AUDIT_CLIENTS ?? '1,64').split(',').filter(Boolean).map(Number);
const AUDIT_REPS = Number(process.env.BENCH_AUDIT_REPS ?? (QUICK ? 1 : 2));
/**
 * The configurations the audit comparison runs on (BENCH_AUDIT_BACKENDS, default both): `postgres`
 * (queues and the log on PostgreSQL, the `npm start` default) and `postgres+redis` (queues on Redis
 * at BENCH_REDIS_URL / REDIS_URL, default redis://127.0.0.1:6379).
 */
const AUDIT_BACKENDS = (process.env.BENCH_AUDIT_BACKENDS ?? 'postgres,postgres+redis').split(',').filter(Boolean) as Array<
  'postgres' | 'postgres+redis'
>;
const REDIS_FOR_BENCH = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type AuditRun = {
  audit: 'bare' | 'off' | 'on';
  clients: number;
  drainSeconds: number;
  sustainedReqPerSec: number;
  /** Server CPU ms per request (node + PostgreSQL) from the start of the load until the log caught up. */
  sustainedCpuMsPerReq: number;
} & CellResult;

/** Audit-log records not yet in the hash chain: queued batches (BullMQ) plus staged records (kiln_audit_staged_records). */
async function auditBacklog(url: string): Promise<number> {
  const m = await scrapeMetrics(url);
  return (
    sum(m, 'kiln_queue_jobs', { queue: 'audit', state: 'waiting' }) +
    sum(m, 'kiln_queue_jobs', { queue: 'audit', state: 'active' }) +
    sum(m, 'kiln_audit_staged_records', {})
  );
}

/**
 * The diagnostics-audit cost on one configuration (`backend`): the small model's record API (batching
 * on) with the prediction log on vs off, next to the bare node:http ceiling answering the same bytes.
 * Kiln restarts on the same data (models already trained) with KILN_AUDIT set per mode; per repetition
 * the cells run back to back (bare, off, on) and the median run per mode and client count is kept.
 * With auditing on, every answer waits until its record is durable, and the audit worker (same
 * process) chains the log while the load runs; a cell is not over until the log has caught up
 * ("sustained" req/s counts that catch-up time; else its cost would land on the next cell).
 */
async function auditComparison(
  baseEnv: Record<string, string>,
  key: string,
  small: Prepared,
  refreshMs: number,
  bare: { url: string; pid: number },
  backend: 'postgres' | 'postgres+redis',
) {
  const { REDIS_URL: _ignored, ...withoutRedis } = baseEnv;
  // Each configuration starts from the same state: a copy of the data directory as the serving cells
  // left it (Kiln stopped, so the embedded PostgreSQL's files are consistent). On one directory the second
  // configuration inherited the first's log, staging churn and autovacuum work, and paid for them
  // (docs/performance.md, "an order effect"). With DATABASE_URL the database is shared and this cannot help.
  const dataDir = mkdtempSync(join(tmpdir(), `kiln-bench-audit-${backend.replace('+', '-')}-`));
  // cp -a: owners kept (as root the embedded PostgreSQL runs as another user, who owns its files)
  execFileSync('cp', ['-a', `${baseEnv.KILN_DATA_DIR!}/.`, dataDir]);
  const common: Record<string, string> = { ...withoutRedis, KILN_DATA_DIR: dataDir };
  const env = backend === 'postgres+redis' ? { ...common, REDIS_URL: REDIS_FOR_BENCH } : common;
  const runs: AuditRun[] = [];
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const cellOf = (url: string, clients: number, serverPids: () => Record<string, number[]>) =>
    runCell({ url, body: small.requestBody, headers, clients, seconds: SECONDS, warmupSeconds: WARMUP, serverPids });
  for (let rep = 0; rep < AUDIT_REPS; rep++) {
    for (const clients of AUDIT_CLIENTS) {
      const r = await cellOf(bare.url, clients, () => ({ node: [bare.pid] }));
      const cpu = r.serverCpuMsPerReq.node ?? 0;
      runs.push({ audit: 'bare', clients, ...r, drainSeconds: 0, sustainedReqPerSec: r.reqPerSec, sustainedCpuMsPerReq: cpu });
      console.log(`${backend} bare-http ${clients} clients  ${JSON.stringify(r)}`);
    }
    for (const audit of ['off', 'on'] as const) {
      const kiln = await startKilnChild({ ...env, KILN_AUDIT: audit });
      try {
        await setBatching(apiClient(kiln.url, env.KILN_ADMIN_KEY!), small.name, 'on', refreshMs);
        const url = `${kiln.url}/api/models/${small.name}/predict`;
        await autocannon({ url, method: 'POST', headers, body: small.requestBody, connections: 16, duration: 2 });
        await until(async () => ((await auditBacklog(kiln.url)) === 0 ? true : undefined), 50);
        const pids = () => ({
          node: [kiln.pid],
          postgres: descendants(kiln.pid)
            .filter((p) => p.comm === 'postgres')
            .map((p) => p.pid),
        });
        for (const clients of AUDIT_CLIENTS) {
          const all = () => Object.values(pids()).flat();
          const cpuBefore = cpuSnapshot(all());
          const r = await cellOf(url, clients, pids);
          const drainStarted = performance.now();
          await until(async () => ((await auditBacklog(kiln.url)) === 0 ? true : undefined), 50);
          const drainSeconds = Number(((performance.now() - drainStarted) / 1000).toFixed(2));
          // (includes the warm-up's CPU: close enough as a ratio, both modes pay it alike; subtract it)
          const cpuMs = 1000 * cpuSecondsBetween(cpuBefore, cpuSnapshot(all()));
          const warmupRequests = r.reqPerSec * WARMUP;
          const sustainedCpuMsPerReq = Number((cpuMs / Math.max(1, r.requests + warmupRequests)).toFixed(4));
          const sustainedReqPerSec = Math.round(r.requests / (r.seconds + drainSeconds));
          runs.push({ audit, clients, ...r, drainSeconds, sustainedReqPerSec, sustainedCpuMsPerReq });
          console.log(`${backend} audit ${audit} ${clients} clients  ${JSON.stringify({ ...r, drainSeconds, sustainedReqPerSec })}`);
        }
      } finally {
        await kiln.stop();
      }
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
  const median = (xs: AuditRun[]) => [...xs].sort((a, b) => a.sustainedReqPerSec - b.sustainedReqPerSec)[Math.floor(xs.length / 2)]!;
  const r3 = (x: number) => Number(x.toFixed(3));
  const summary = AUDIT_CLIENTS.map((clients) => {
    const of = (audit: AuditRun['audit']) => median(runs.filter((r) => r.audit === audit && r.clients === clients));
    const [bareRun, off, on] = [of('bare'), of('off'), of('on')];
    return {
      clients,
      bare: bareRun,
      off,
      on,
      offVsBare: r3(off.reqPerSec / bareRun.reqPerSec),
      onAnsweredVsBare: r3(on.reqPerSec / bareRun.reqPerSec),
      onSustainedVsBare: r3(on.sustainedReqPerSec / bareRun.reqPerSec),
      onVsOff: r3(on.sustainedReqPerSec / off.sustainedReqPerSec),
      p50AddedMs: r3(on.p50MsExact - off.p50MsExact),
      // The same ratios if each server had the CPU to itself (steadier on a shared machine): CPU per request, inverted.
      cpuBound: {
        offVsBare: r3(bareRun.sustainedCpuMsPerReq / off.sustainedCpuMsPerReq),
        onSustainedVsBare: r3(bareRun.sustainedCpuMsPerReq / on.sustainedCpuMsPerReq),
        onVsOff: r3(off.sustainedCpuMsPerReq / on.sustainedCpuMsPerReq),
      },
    };
  });
  return { backend, repetitions: AUDIT_REPS, runs, summary };
}

async function main(): Promise<void> {
  const startedLoad = loadavg();
  const { env, dataDir, adminKey, fromShell } = benchKilnEnv('serve', 'kbs');
  const config = loadConfig(env);
  const refreshMs = config.inference.routingRefreshMs;
  process.env.KILN_TF_BACKEND = env.KILN_TF_BACKEND;
  const backend = await TfRuntime.init(backendChoiceFromEnv());

  let kiln: KilnChild | undefined = await startKilnChild(env);
  const bare = await startBare();
  try {
    console.log(
      `backend ${backend}, ${SECONDS} s per cell (+${WARMUP} s warm-up), ` +
        `clients ${CLIENTS.join('/')}, Kiln pid ${kiln.pid} at ${kiln.url}` +
        `${env.DATABASE_URL ? ' (DATABASE_URL)' : ' (embedded PostgreSQL)'}`,
    );
    const api = apiClient(kiln.url, adminKey);
    const predictorKey: string = (await api('POST', '/api/keys', { name: 'bench-serve', role: 'predictor' })).key;
    const headers = { authorization: `Bearer ${predictorKey}`, 'content-type': 'application/json' };
    const k = kiln;
    const predict = (name: string, body: string) => fetch(`${k.url}/api/models/${name}/predict`, { method: 'POST', headers, body });
    const models = await prepare(api, predict);

    // Model ceiling: the same version's bytes from Kiln's artifact store, in this process, Kiln idle.
    const store = openArtifactStore(config.artifacts);
    const ceilings: Record<string, CeilingRow[]> = {};
    for (const m of models) {
      const [json, weights] = await Promise.all([store.getBuffer(m.artifacts.modelJson), store.getBuffer(m.artifacts.weights)]);
      ceilings[m.spec.key] = await modelCeiling(
        { modelJson: JSON.parse(json.toString('utf8')) as ModelJson, weights },
        m.inputWidth,
        CEILING_BATCHES,
        Math.max(1, SECONDS / 2),
      );
      console.log(
        `model ceiling ${m.spec.key}: ` +
          `${ceilings[m.spec.key]!.map((c) => `batch ${c.batch} ${c.rowsPerSec} rows/s (${c.msPerCall} ms/call)`).join(', ')}`,
      );
    }

    const kilnPids = () => ({
      node: [k.pid],
      postgres: descendants(k.pid)
        .filter((p) => p.comm === 'postgres')
        .map((p) => p.pid),
    });
    const cells: Cell[] = [];
    for (const m of models) {
      await bare.setBody(m.responseBody);
      const kilnUrl = `${k.url}/api/models/${m.name}/predict`;
      for (const mode of ['off', 'on'] as const) {
        // once per model and mode: JIT and kernels warm before the first measured cell
        await setBatching(api, m.name, mode, refreshMs);
        await autocannon({ url: kilnUrl, method: 'POST', headers, body: m.requestBody, connections: 16, duration: 2 });
      }
      for (const clients of CLIENTS) {
        const base = { body: m.requestBody, headers, clients, seconds: SECONDS, warmupSeconds: WARMUP };
        const b = await runCell({ ...base, url: bare.url, serverPids: () => ({ node: [bare.pid] }) });
        cells.push({ model: m.spec.key, clients, server: 'bare-http', ...b });
        console.log(`${m.spec.key} ${clients} clients  bare-http          ${JSON.stringify(b)}`);
        for (const mode of ['off', 'on'] as const) {
          await setBatching(api, m.name, mode, refreshMs);
          const before = await scrapeMetrics(k.url);
          const r = await runCell({ ...base, url: kilnUrl, serverPids: kilnPids });
          const view = serverView(before, await scrapeMetrics(k.url), m.name);
          cells.push({ model: m.spec.key, clients, server: `kiln batching ${mode}`, ...r, kiln: view });
          console.log(`${m.spec.key} ${clients} clients  kiln batching ${mode.padEnd(3)}  ${JSON.stringify({ ...r, kiln: view })}`);
        }
      }
    }

    await kiln.stop();
    kiln = undefined;
    const smallModel = models.find((m) => m.spec.key === 'small');
    const audits: Array<Awaited<ReturnType<typeof auditComparison>>> = [];
    if (AUDIT_CLIENTS.length > 0 && smallModel) {
      await bare.setBody(smallModel.responseBody);
      for (const backend of AUDIT_BACKENDS) audits.push(await auditComparison(env, predictorKey, smallModel, refreshMs, bare, backend));
    }
    const profiled = PROFILE_SECONDS > 0 ? await profile(env, predictorKey, models, refreshMs) : null;
    // The same small-model window with the prediction log on (the default): where the audit's CPU goes.
    const profiledAudit =
      PROFILE_SECONDS > 0 && smallModel
        ? await profile({ ...env, KILN_AUDIT: 'on' }, predictorKey, [smallModel], refreshMs, ['on'], ', audit on')
        : null;
    const profiles = { ...(profiled?.windows ?? {}), ...(profiledAudit?.windows ?? {}) };

    const cell = (model: string, clients: number, server: Cell['server']) =>
      cells.find((c) => c.model === model && c.clients === clients && c.server === server);
    const ratios = models.flatMap((m) =>
      CLIENTS.map((clients) => {
        const b = cell(m.spec.key, clients, 'bare-http')!;
        const off = cell(m.spec.key, clients, 'kiln batching off')!;
        const on = cell(m.spec.key, clients, 'kiln batching on')!;
        const r3 = (x: number) => Number(x.toFixed(3));
        const cpu = (c: Cell) => Object.values(c.serverCpuMsPerReq).reduce((a, x) => a + x, 0);
        return {
          model: m.spec.key,
          clients,
          offVsBare: r3(off.reqPerSec / b.reqPerSec),
          onVsBare: r3(on.reqPerSec / b.reqPerSec),
          onVsOff: r3(on.reqPerSec / off.reqPerSec),
          // req/s ratio if both servers had the same CPU to themselves: bare CPU per request / Kiln's (node + PostgreSQL)
          onVsBareCpuBound: r3(cpu(b) / cpu(on)),
        };
      }),
    );

    const targets: Array<{ target: string; measured: string; pass: boolean }> = [];
    const small64 = { b: cell('small', 64, 'bare-http'), on: cell('small', 64, 'kiln batching on') };
    if (small64.b && small64.on) {
      const share = small64.on.reqPerSec / small64.b.reqPerSec;
      targets.push({
        target: 'small, 64 clients (batching on, the default): ≥ 40 % of bare-HTTP req/s with p99 ≤ 20 ms',
        measured: `${(100 * share).toFixed(1)} % (${small64.on.reqPerSec} / ${small64.b.reqPerSec} req/s), p99 ${small64.on.p99Ms} ms`,
        pass: share >= 0.4 && small64.on.p99Ms <= 20,
      });
    }
    const large64 = { off: cell('large', 64, 'kiln batching off'), on: cell('large', 64, 'kiln batching on') };
    if (large64.off && large64.on) {
      const x = large64.on.reqPerSec / large64.off.reqPerSec;
      targets.push({
        target: 'large, 64 clients: batching on ≥ 2× off at equal or lower p99',
        measured:
          `${x.toFixed(2)}× (${large64.on.reqPerSec} vs ${large64.off.reqPerSec} req/s), ` +
          `p99 ${large64.on.p99Ms} vs ${large64.off.p99Ms} ms`,
        pass: x >= 2 && large64.on.p99Ms <= large64.off.p99Ms,
      });
    }
    for (const m of models) {
      const off = cell(m.spec.key, 1, 'kiln batching off');
      const on = cell(m.spec.key, 1, 'kiln batching on');
      if (!off || !on) continue;
      targets.push({
        target: `${m.spec.key}, 1 client: batching on ≥ 90 % of off req/s`,
        measured: `${((100 * on.reqPerSec) / off.reqPerSec).toFixed(1)} % (${on.reqPerSec} vs ${off.reqPerSec} req/s)`,
        pass: on.reqPerSec >= 0.9 * off.reqPerSec,
      });
    }

    for (const audit of audits) {
      const at64 = audit.summary.find((x) => x.clients === 64);
      const at1 = audit.summary.find((x) => x.clients === 1);
      const cfg = audit.backend;
      if (at64) {
        targets.push({
          target: `${cfg}, small, 64 clients, audit on SUSTAINED ≥ 40 % of bare-HTTP req/s with p99 ≤ 20 ms`,
          measured:
            `${(100 * at64.onSustainedVsBare).toFixed(1)} % (${at64.on.sustainedReqPerSec} / ${at64.bare.reqPerSec} req/s; ` +
            `answered ${at64.on.reqPerSec} req/s, log caught up ${at64.on.drainSeconds} s after the load), ` +
            `p99 ${at64.on.p99MsExact.toFixed(1)} ms; ` +
            `CPU-bound ${(100 * at64.cpuBound.onSustainedVsBare).toFixed(1)} %`,
          pass: at64.onSustainedVsBare >= 0.4 && at64.on.p99MsExact <= 20,
        });
        targets.push({
          target: `${cfg}, small, 64 clients: audit on ≥ 80 % of audit off (sustained)`,
          measured:
            `${(100 * at64.onVsOff).toFixed(1)} % (sustained ${at64.on.sustainedReqPerSec} vs ${at64.off.sustainedReqPerSec} req/s), ` +
            `p99 ${at64.on.p99MsExact.toFixed(1)} vs ${at64.off.p99MsExact.toFixed(1)} ms; ` +
            `CPU-bound ${(100 * at64.cpuBound.onVsOff).toFixed(1)} %`,
          pass: at64.onVsOff >= 0.8,
        });
      }
      if (at1) {
        targets.push({
          target: `${cfg}, small, 1 client: audit on adds ≤ 1 ms to p50`,
          measured: `+${at1.p50AddedMs.toFixed(2)} ms (p50 ${at1.on.p50MsExact.toFixed(2)} vs ${at1.off.p50MsExact.toFixed(2)} ms)`,
          pass: at1.p50AddedMs <= 1,
        });
      }
    }

    const out = {
      generatedAt: new Date().toISOString(),
      command: 'npm run bench:serve',
      environment: {
        backend,
        tfjs: tf.version_core,
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryGB: Math.round(totalmem() / 2 ** 30),
        database: env.DATABASE_URL ? 'DATABASE_URL' : 'embedded',
        queues: env.REDIS_URL ? 'redis' : 'postgres',
        loadAverageAtStart: startedLoad,
        loadAverageAtEnd: loadavg(),
        processes: 'Kiln child (node dist/src/main.js), bare-http child, autocannon in the bench process',
        git: gitState(),
        kilnSettingsFromShell: fromShell,
      },
      settings: { secondsPerCell: SECONDS, warmupSeconds: WARMUP, clients: CLIENTS, batching: BATCHING, profileSeconds: PROFILE_SECONDS },
      fixture: {
        description: 'generated (bench fixture): seeded N(0,1) features, label yes/no from a logistic ground truth over all features',
        rows: ROWS,
        seed: SEED,
      },
      models: models.map((m) => ({
        key: m.spec.key,
        name: m.name,
        version: m.version,
        features: m.spec.features,
        hiddenUnits: m.spec.hiddenUnits,
        inputWidth: m.inputWidth,
        epochs: m.spec.epochs,
        trainSeconds: Number(m.trainSeconds.toFixed(1)),
        requestBytes: Buffer.byteLength(m.requestBody),
        responseBytes: Buffer.byteLength(m.responseBody),
      })),
      modelCeiling: ceilings,
      cells,
      ratios,
      targets,
      audit: audits,
      profile: profiles,
    };
    for (const p of [profiled, profiledAudit])
      if (p) console.log(`raw CPU profile of the Kiln server (Chrome DevTools → Performance → load): ${p.file}`);
    const file = resolve(repoRoot(), process.env.BENCH_OUT ?? join('bench', 'results', 'serve.json'));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n');

    console.log(`\nwrote ${file}\n`);
    console.log(
      'p50 / p99 from every response time (µs resolution); ' +
        '[autocannon latency.p99, whole ms]; CPU ms per request of the Kiln node process + its PostgreSQL processes',
    );
    console.log(
      '| model | clients | bare HTTP req/s | p50 / p99 ms | off req/s | ' +
        'p50 / p99 ms [ac p99] | on req/s | p50 / p99 ms [ac p99] | off / bare | ' +
        'on / bare | on / bare, CPU-bound | on / off | rows per model call (on) | ' +
        'CPU ms/req off | CPU ms/req on | bare CPU ms/req |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of ratios) {
      const b = cell(r.model, r.clients, 'bare-http')!;
      const off = cell(r.model, r.clients, 'kiln batching off')!;
      const on = cell(r.model, r.clients, 'kiln batching on')!;
      const lat = (c: Cell) => `${c.p50MsExact.toFixed(2)} / ${c.p99MsExact.toFixed(2)}`;
      const cpu = (c: Cell) => `${c.serverCpuMsPerReq.node!.toFixed(3)} + ${c.serverCpuMsPerReq.postgres!.toFixed(3)}`;
      console.log(
        `| ${r.model} | ${r.clients} | ${b.reqPerSec} | ${lat(b)} | ${off.reqPerSec} | ${lat(off)} [${off.p99Ms}] | ` +
          `${on.reqPerSec} | ${lat(on)} [${on.p99Ms}] | ${r.offVsBare} | ${r.onVsBare} | ${r.onVsBareCpuBound} | ${r.onVsOff} | ` +
          `${on.kiln?.meanBatchRows?.toFixed(1) ?? '–'} | ${cpu(off)} | ${cpu(on)} | ${b.serverCpuMsPerReq.node!.toFixed(3)} |`,
      );
    }
    const others = cells.map((c) => c.otherProcessesCores);
    console.log(
      `\nother processes on the machine used ${Math.min(...others)}–${Math.max(...others)} cores during the cells (of ${cpus().length})`,
    );
    console.log('\nmodel ceiling (in-process predict, rows/s):');
    for (const [key, rows] of Object.entries(ceilings))
      console.log(`  ${key}: ${rows.map((c) => `b${c.batch} ${c.rowsPerSec}`).join('  ')}`);
    for (const audit of audits) {
      console.log(
        `\nauditing on ${audit.backend} (small model, batching on; bare node:http, then Kiln restarted per mode; ` +
          `median of ${audit.repetitions} repetition(s); sustained = requests ÷ (load seconds + time until the log caught up)):`,
      );
      console.log(
        '| clients | server | req/s | share of bare | p50 / p99 ms | log caught up after | ' +
          'CPU ms/req (node + PostgreSQL) | share of bare, CPU-bound | note |',
      );
      console.log('|---|---|---|---|---|---|---|---|---|');
      for (const x of audit.summary) {
        const lat = (c: CellResult) => `${c.p50MsExact.toFixed(2)} / ${c.p99MsExact.toFixed(2)}`;
        const rows: Array<[string, number, number, string, string, string, string, string]> = [
          ['bare node:http', x.bare.reqPerSec, 1, lat(x.bare), '', x.bare.sustainedCpuMsPerReq.toFixed(3), '1', ''],
          [
            'Kiln, audit off',
            x.off.reqPerSec,
            x.offVsBare,
            lat(x.off),
            '',
            x.off.sustainedCpuMsPerReq.toFixed(3),
            String(x.cpuBound.offVsBare),
            '',
          ],
          ['Kiln, audit on, answered', x.on.reqPerSec, x.onAnsweredVsBare, lat(x.on), '', '', '', ''],
          [
            'Kiln, audit on, **sustained**',
            x.on.sustainedReqPerSec,
            x.onSustainedVsBare,
            '—',
            `${x.on.drainSeconds} s`,
            x.on.sustainedCpuMsPerReq.toFixed(3),
            String(x.cpuBound.onSustainedVsBare),
            `on / off sustained ${x.onVsOff.toFixed(3)} (CPU-bound ${x.cpuBound.onVsOff}); audit adds ${x.p50AddedMs.toFixed(2)} ms p50`,
          ],
        ];
        for (const [name, rps, share, l, drain, cpu, cpuShare, note] of rows)
          console.log(`| ${x.clients} | ${name} | ${rps} | ${share.toFixed(3)} | ${l} | ${drain} | ${cpu} | ${cpuShare} | ${note} |`);
      }
    }
    console.log('\ntargets:');
    for (const t of targets) console.log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.measured}`);
    for (const [key, p] of Object.entries(profiles)) {
      console.log(`\nprofile of the Kiln main thread, ${key}, 64 clients (${p.windowMs} ms, ${p.idlePct} % idle, clock ${p.clock}):`);
      console.log('  by owner:          ' + p.byOwner.map((r) => `${r.name} ${r.pct}%`).join(', '));
      console.log(
        '  self by origin:    ' +
          p.selfByOrigin
            .slice(0, 12)
            .map((r) => `${r.name} ${r.pct}%`)
            .join(', '),
      );
      console.log(
        '  self by function:  ' +
          p.selfByFunction
            .slice(0, 15)
            .map((r) => `${r.name} ${r.pct}%`)
            .join(', '),
      );
      console.log(
        '  inclusive:         ' +
          p.inclusiveByFunction
            .slice(0, 25)
            .map((r) => `${r.name} ${r.pct}%`)
            .join(', '),
      );
    }
  } finally {
    bare.stop();
    await kiln?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
