/**
 * bench/engines — TF.js (wasm) vs ONNX Runtime on the same weights:
 *
 *   npm run bench:engines            (= npm run build --silent && node dist/bench/engines/run.js)
 *   BENCH_SECONDS=5 BENCH_CLIENTS=1,16,64 BENCH_PARTS=inproc,isolation,http npm run bench:engines
 *
 * 1. In process (`inproc`): the serve bench's two networks (small 30 → 64 → 32 → 1, large
 *    100 → 512 → 512 → 512 → 1, sigmoid output) built by Kiln's `mlp` template with seeded weights,
 *    exported to ONNX by Kiln's exporter (src/ml/onnx/onnx-export.ts); rows/s at batch 1/8/32/128 of
 *    what a server does per call: TF.js `tensor → predict → dataSync → dispose` on the wasm backend, and
 *    ONNX Runtime `run` (CPU provider, KILN_ONNX_THREADS threads, default 1) on a host Float32Array.
 *    The engines and batch sizes take turns in 5 rounds; the median round counts.
 * 2. Over HTTP (`http`): Kiln as a child process (bench/serve/kiln-server.ts; embedded PostgreSQL
 *    unless DATABASE_URL; prediction log off; batching on: maxBatchSize 32), the large model trained
 *    through the API on the serve bench's generated table (1 epoch), then the record API (one record per
 *    request) at BENCH_CLIENTS clients with `PUT …/serving {"engine"}` switched between `tfjs` and
 *    `onnxruntime` for neighbouring cells (bench/serve/load.ts: autocannon in this process, 1 s warm-up).
 *
 *    BENCH_HTTP_MODELS=small,large serves the small network too (default: large only).
 *    BENCH_KILN_MAIN=<other build>/dist/src/main.js serves the http part from another build (a baseline
 *    for before/after, e.g. a copy of dist under .build/); BENCH_PROFILE=1 starts it under `--cpu-prof`
 *    and prints, per cell, where its main thread's CPU went (bench/serve/cpu-profile.ts; the profiler
 *    costs some throughput, so compare req/s of unprofiled runs).
 *
 * Ratios compare cells of the same run (the machine is shared: absolute numbers move with the load
 * average printed at the start). Goal: ONNX Runtime ≥ 3× TF.js req/s at 64 clients (large model).
 * Writes bench/results/engines.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, resolveHyperparameters } from '../../src/ml/templates';
import {
  exportDenseStackToOnnx,
  IsolatedOnnxModel,
  OnnxModel,
  onnxRuntimeInfo,
  onnxSessionChildFile,
  onnxSessionThreadFile,
  ThreadedOnnxModel,
} from '../../src/ml/onnx';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { seededRandom } from '../serve/fixture';
import { apiClient, startKilnChild } from '../serve/kiln-server';
import { NETWORKS, setEngine, trainRecordModel } from './record-model';
import { runCell, type CellResult } from '../serve/load';
import { scrapeMetrics, serverView, type ServerView } from '../serve/kiln-metrics';
import { descendants } from '../serve/proc-stats';
import { summarise, type CpuProfile, type ProfileSummary } from '../serve/cpu-profile';
import { runBench } from '../common/run-bench';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,16,64').split(',').map(Number);
const PARTS = (process.env.BENCH_PARTS ?? 'inproc,isolation,http').split(',');
const THREADS = Number(process.env.KILN_ONNX_THREADS ?? 1);
const BATCHES = [1, 8, 32, 128];
const ROUNDS = 5;
const KILN_MAIN = process.env.BENCH_KILN_MAIN ? resolve(process.env.BENCH_KILN_MAIN) : undefined;
const PROFILE = process.env.BENCH_PROFILE === '1';
/** The networks the http part serves (BENCH_HTTP_MODELS, default large only: the goal's model). */
const HTTP_MODELS = (process.env.BENCH_HTTP_MODELS ?? 'large').split(',');
/** Further ONNX Runtime cells at these batcher caps (BENCH_ONNX_MAX_BATCH=64,128; the tfjs/onnxruntime pair runs at 32). */
const ONNX_MAX_BATCH = (process.env.BENCH_ONNX_MAX_BATCH ?? '').split(',').filter(Boolean).map(Number);
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface InprocRow {
  model: string;
  batch: number;
  tfjsRowsPerSec: number;
  onnxRowsPerSec: number;
  ratio: number;
  maxAbsDiff: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Rows/s of each engine at each batch size: a warm-up, then ROUNDS rounds in which the engines take
 * turns (order alternating) for an equal slice of BENCH_SECONDS; the median round's ms per call counts.
 */
async function alternating(engines: Record<string, (batch: number) => unknown>): Promise<(engine: string, batch: number) => number> {
  const timed = async (call: (batch: number) => unknown, b: number, ms: number): Promise<number> => {
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      await call(b);
      calls++;
    }
    return (performance.now() - t0) / calls;
  };
  const names = Object.keys(engines);
  for (const b of BATCHES) for (const name of names) await timed(engines[name]!, b, 200);
  const per = new Map<string, number[]>();
  const slice = (SECONDS * 1000) / ROUNDS / BATCHES.length;
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of BATCHES) {
      for (const name of r % 2 === 0 ? names : [...names].reverse()) {
        const k = `${name}:${b}`;
        per.set(k, [...(per.get(k) ?? []), await timed(engines[name]!, b, slice)]);
      }
    }
  }
  // rows/s of an engine at a batch size (median round)
  return (engine, b) => Math.round((b * 1000) / median(per.get(`${engine}:${b}`)!));
}

async function inProcess(): Promise<InprocRow[]> {
  const rows: InprocRow[] = [];
  for (const net of NETWORKS) {
    const hp = resolveHyperparameters('mlp', { hiddenUnits: [...net.hiddenUnits], dropout: 0, seed: 7 });
    const model: tfl.LayersModel = buildModel('mlp', { inputWidth: net.features, task: 'binary' }, hp, false);
    const onnx = await OnnxModel.fromBytes(exportDenseStackToOnnx(model, 'features', 'probability'), { intraOpThreads: THREADS });
    const rand = seededRandom(99);
    const inputs = new Map(BATCHES.map((b) => [b, Float32Array.from({ length: b * net.features }, () => rand() * 2 - 1)]));
    const tfjsCall = (b: number): Float32Array => {
      const x = tf.tensor2d(inputs.get(b)!, [b, net.features]);
      const y = model.predict(x) as tf.Tensor;
      const out = y.dataSync() as Float32Array;
      tf.dispose([x, y]);
      return out;
    };
    const onnxCall = async (b: number): Promise<Float32Array> => {
      const [y] = await onnx.run([{ name: 'features', dtype: 'float32', shape: [b, net.features], data: inputs.get(b)! }]);
      return y!.data as Float32Array;
    };
    const diffs = new Map<number, number>();
    for (const b of BATCHES) {
      const a = tfjsCall(b);
      const o = await onnxCall(b);
      diffs.set(
        b,
        a.reduce((m, v, i) => Math.max(m, Math.abs(v - o[i]!)), 0),
      );
    }
    const rate = await alternating({ tfjs: tfjsCall, onnx: onnxCall });
    for (const b of BATCHES) {
      const [tfjsRowsPerSec, onnxRowsPerSec] = [rate('tfjs', b), rate('onnx', b)];
      const ratio = Number((onnxRowsPerSec / tfjsRowsPerSec).toFixed(2));
      const row = { model: net.key, batch: b, tfjsRowsPerSec, onnxRowsPerSec, ratio, maxAbsDiff: diffs.get(b)! };
      rows.push(row);
      console.log(`in process ${JSON.stringify(row)}`);
    }
    await onnx.dispose();
    model.dispose();
  }
  return rows;
}

interface IsolationRow {
  model: string;
  batch: number;
  inProcessRowsPerSec: number;
  /** The same session on the ONNX serving thread (threaded-onnx-model.ts, how Kiln's own exports are served from dist). */
  threadedRowsPerSec: number;
  isolatedRowsPerSec: number;
  /** isolated ÷ in process: what serving an imported graph from its capped process costs. */
  ratio: number;
}

/**
 * 3. `isolation`: the same ONNX graphs on this thread (OnnxModel), on the ONNX serving thread
 *    (ThreadedOnnxModel, how Kiln's own exports are served: inputs copied to the thread, outputs
 *    transferred back) and in a memory-capped session process (IsolatedOnnxModel, how imported graphs
 *    are served: the tensors cross an IPC channel each way per call). One call at a time: this
 *    measures the cost of the hop, not the overlap the thread allows under concurrent load.
 */
async function isolation(): Promise<IsolationRow[]> {
  const childFile = onnxSessionChildFile();
  const threadFile = onnxSessionThreadFile();
  if (!childFile || !threadFile) throw new Error('no compiled onnx-session.child.js: run the bench from dist (npm run bench:engines)');
  const rows: IsolationRow[] = [];
  for (const net of NETWORKS) {
    const hp = resolveHyperparameters('mlp', { hiddenUnits: [...net.hiddenUnits], dropout: 0, seed: 7 });
    const model: tfl.LayersModel = buildModel('mlp', { inputWidth: net.features, task: 'binary' }, hp, false);
    const graph = exportDenseStackToOnnx(model, 'features', 'probability');
    model.dispose();
    const local = await OnnxModel.fromBytes(graph, { intraOpThreads: THREADS });
    const threaded = await ThreadedOnnxModel.start(threadFile, graph, { intraOpThreads: THREADS });
    const isolated = await IsolatedOnnxModel.start(childFile, graph, { intraOpThreads: THREADS, memoryLimitMb: 1024 });
    const rand = seededRandom(99);
    const inputs = new Map(BATCHES.map((b) => [b, Float32Array.from({ length: b * net.features }, () => rand() * 2 - 1)]));
    const call = (m: OnnxModel | ThreadedOnnxModel | IsolatedOnnxModel) => (b: number) =>
      m.run([{ name: 'features', dtype: 'float32', shape: [b, net.features], data: inputs.get(b)! }]);
    const rate = await alternating({ local: call(local), threaded: call(threaded), isolated: call(isolated) });
    for (const b of BATCHES) {
      const [inProcessRowsPerSec, threadedRowsPerSec, isolatedRowsPerSec] = [rate('local', b), rate('threaded', b), rate('isolated', b)];
      const ratio = Number((isolatedRowsPerSec / inProcessRowsPerSec).toFixed(2));
      const row = { model: net.key, batch: b, inProcessRowsPerSec, threadedRowsPerSec, isolatedRowsPerSec, ratio };
      rows.push(row);
      console.log(`isolation ${JSON.stringify(row)} (launcher ${isolated.launcher})`);
    }
    await local.dispose();
    await threaded.dispose();
    await isolated.dispose();
  }
  return rows;
}

interface HttpCell extends CellResult {
  model: string;
  clients: number;
  engine: 'tfjs' | 'onnxruntime';
  maxBatchSize: number;
  /** Kiln's /metrics over the cell (warm-up included): mean rows per model call, model calls. */
  server: ServerView;
}

/** Each cell's window of the Kiln main thread's CPU profile (the process has exited and written it). */
function profileWindows(
  dir: string,
  pid: number,
  windows: Array<{ name: string; from: number; to: number }>,
): Record<string, ProfileSummary> {
  const file = readdirSync(dir).find((f) => f.includes(`.${pid}.0.`));
  if (!file) throw new Error(`no main-thread profile in ${dir}: ${readdirSync(dir).join(', ')}`);
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const out: Record<string, ProfileSummary> = {};
  for (const w of windows) {
    const p = summarise(prof, w.from, w.to, 15);
    out[w.name] = p;
    console.log(`\nprofile ${w.name} (${p.windowMs} ms, ${p.idlePct} % idle; raw profile ${join(dir, file)}):`);
    console.log('  by owner: ' + p.byOwner.map((r) => `${r.name} ${r.pct}%`).join(', '));
    console.log('  self:     ' + p.selfByFunction.map((r) => `${r.name} ${r.pct}%`).join(', '));
  }
  return out;
}

async function overHttp(): Promise<{
  cells: HttpCell[];
  summary: Array<Record<string, number | string>>;
  profiles?: Record<string, ProfileSummary>;
}> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-engines-'));
  const adminKey = `kiln_${randomBytes(6).toString('hex')}_${randomBytes(24).toString('base64url')}`;
  const env: Record<string, string> = {
    KILN_AUDIT: 'off',
    PORT: '0',
    HOST: '127.0.0.1',
    KILN_DATA_DIR: dataDir,
    KILN_ADMIN_KEY: adminKey,
    KILN_LOG_LEVEL: 'warn',
    KILN_QUEUE_PREFIX: `kbe${randomBytes(3).toString('hex')}`,
    KILN_TF_BACKEND: process.env.KILN_TF_BACKEND ?? 'wasm',
    KILN_ONNX_THREADS: String(THREADS),
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  };
  const profileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'kiln-bench-engines-prof-')) : null;
  const kiln = await startKilnChild(env, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [], KILN_MAIN);
  const cells: HttpCell[] = [];
  const windows: Array<{ name: string; from: number; to: number }> = [];
  try {
    const api = apiClient(kiln.url, adminKey);
    const predictorKey: string = (await api('POST', '/api/keys', { name: 'bench-engines', role: 'predictor' })).key;
    const headers = { authorization: `Bearer ${predictorKey}`, 'content-type': 'application/json' };
    const pids = () => ({
      node: [kiln.pid],
      postgres: descendants(kiln.pid)
        .filter((p) => p.comm === 'postgres')
        .map((p) => p.pid),
    });
    for (const net of NETWORKS.filter((n) => HTTP_MODELS.includes(n.key))) {
      const { name, url, body } = await trainRecordModel(api, kiln.url, net);
      for (const clients of CLIENTS) {
        const variants = [
          { engine: 'tfjs' as const, maxBatchSize: 32 },
          { engine: 'onnxruntime' as const, maxBatchSize: 32 },
          ...ONNX_MAX_BATCH.map((maxBatchSize) => ({ engine: 'onnxruntime' as const, maxBatchSize })),
        ];
        for (const { engine, maxBatchSize } of variants) {
          await setEngine(api, name, engine, maxBatchSize);
          const cell = `${net.key} ${clients} clients ${engine}${maxBatchSize === 32 ? '' : ` max batch ${maxBatchSize}`}`;
          const from = nowUs();
          const before = await scrapeMetrics(kiln.url);
          const r = await runCell({
            url,
            body,
            headers,
            clients,
            seconds: SECONDS,
            warmupSeconds: 1,
            serverPids: pids,
            serverMainThreadOf: kiln.pid,
          });
          const server = serverView(before, await scrapeMetrics(kiln.url), name);
          windows.push({ name: cell, from, to: nowUs() });
          cells.push({ model: net.key, clients, engine, maxBatchSize, ...r, server });
          console.log(
            `http ${cell}: ${r.reqPerSec} req/s, p50 ${r.p50MsExact} ms, p99 ${r.p99MsExact} ms, ` +
              `server CPU ${JSON.stringify(r.serverCpuMsPerReq)} ms/req (main thread ${r.serverMainThreadCpuMsPerReq}), ` +
              `${server.meanBatchRows?.toFixed(1)} rows per model call, load generator ${r.loadGeneratorCoreShare} cores, ` +
              `others ${r.otherProcessesCores} cores`,
          );
        }
      }
    }
  } finally {
    await kiln.stop();
  }
  const models = [...new Set(cells.map((c) => c.model))];
  const summary = models.flatMap((model) =>
    CLIENTS.map((clients) => {
      const t = cells.find((c) => c.model === model && c.clients === clients && c.engine === 'tfjs')!;
      const o = cells.find((c) => c.model === model && c.clients === clients && c.engine === 'onnxruntime' && c.maxBatchSize === 32)!;
      return {
        model,
        clients,
        tfjsReqPerSec: t.reqPerSec,
        tfjsP99Ms: t.p99MsExact,
        onnxReqPerSec: o.reqPerSec,
        onnxP99Ms: o.p99MsExact,
        ratio: Number((o.reqPerSec / t.reqPerSec).toFixed(2)),
        tfjsNodeCpuMsPerReq: t.serverCpuMsPerReq.node ?? NaN,
        onnxNodeCpuMsPerReq: o.serverCpuMsPerReq.node ?? NaN,
        tfjsMainThreadCpuMsPerReq: t.serverMainThreadCpuMsPerReq ?? NaN,
        onnxMainThreadCpuMsPerReq: o.serverMainThreadCpuMsPerReq ?? NaN,
      };
    }),
  );
  return { cells, summary, ...(profileDir ? { profiles: profileWindows(profileDir, kiln.pid, windows) } : {}) };
}

async function main(): Promise<void> {
  const started = loadavg();
  process.env.KILN_TF_BACKEND ??= 'wasm';
  const backend = await TfRuntime.init(process.env.KILN_TF_BACKEND as 'wasm');
  const ort = onnxRuntimeInfo();
  console.log(`tfjs backend ${backend}, ${ort.provider} ${ort.version} (${THREADS} intra-op thread(s))`);
  const result: Record<string, unknown> = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverageAtStart: started,
    tfjsBackend: backend,
    onnxruntime: { ...ort, intraOpThreads: THREADS },
    seconds: SECONDS,
  };
  if (PARTS.includes('inproc')) result.inProcess = await inProcess();
  if (PARTS.includes('isolation')) result.isolation = await isolation();
  if (PARTS.includes('http')) {
    const http = await overHttp();
    result.http = http;
    const at64 = http.summary.find((s) => s.model === 'large' && s.clients === 64);
    if (at64) {
      const ratio = Number(at64.ratio);
      console.log(`goal ONNX Runtime ≥ 3× TF.js req/s at 64 clients (large model): ${ratio}× → ${ratio >= 3 ? 'met' : 'NOT met'}`);
    }
    console.table(http.summary);
  }
  if (result.inProcess) console.table(result.inProcess);
  if (result.isolation) console.table(result.isolation);
  result.loadAverageAtEnd = loadavg();
  const out = process.env.BENCH_OUT ?? resolve(__dirname, '..', '..', '..', 'bench', 'results', 'engines.json');
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

runBench(main);
