/**
 * bench/train/kiln — training throughput of a job run THROUGH Kiln (REST API → `training` queue →
 * processor → worker thread → checkpoint per epoch to the artifact store and the job row → model
 * version registered) next to a raw in-process `model.fit` of the same network on the same data, in
 * the same run and process.
 *
 *   cd /work/main && npx tsc -p tsconfig.json && node dist/bench/train/kiln.js
 *   DATABASE_URL=postgres://… node dist/bench/train/kiln.js     (machine PostgreSQL instead of embedded)
 *   BENCH_REPS=5 BENCH_SAMPLES=50000 BENCH_DATASETS=cars-mpg node dist/bench/train/kiln.js
 *
 * Kiln starts in this process (same bootstrap as `npm start`; embedded PostgreSQL unless
 * DATABASE_URL is set; KILN_TF_BACKEND as given, default wasm so both sides use the same backend).
 * The dataset is uploaded as `{records}` with the engine's declared schema, so Kiln trains on the
 * same table, split and preprocessing as the raw side. Epochs fixed, early stopping off.
 *
 *   Kiln job samples/s   = training rows × epochs / (POST → status succeeded, polled every 20 ms)
 *   Kiln loop samples/s  = the job's own lineage.samplesPerSecond (epoch loop inside the worker thread)
 *   raw fit samples/s    = training rows × epochs / wall time of model.fit (same thread as the HTTP server, idle)
 *
 * Runs alternate Kiln / raw after one warm-up of each; medians of BENCH_REPS. Writes bench/results/train-kiln.json.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { startKiln } from '../../src/bootstrap';
import { loadConfig } from '../../src/platform/config/kiln-config';
import { createRootLogger } from '../../src/platform/logging/logging';
import { TfRuntime, backendChoiceFromEnv } from '../../src/platform/tfjs/tf-runtime';
import { Hyperparameters, TrainSpec, prepareTraining } from '../../src/ml';
import { PublicDataset, carsMpg, moviesHighlyRated, penguinsSpecies } from '../../test/support/public-datasets';
import { rawFit } from './raw-fit';
import { runBench } from '../common/run-bench';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const SAMPLES_PER_RUN = Number(process.env.BENCH_SAMPLES ?? 25_000);

const HP: Record<string, Partial<Hyperparameters>> = {
  'movies-highly-rated': { batchSize: 64, learningRate: 0.005, hiddenUnits: [32, 16], dropout: 0.1, classWeights: 'balanced', seed: 1 },
  'penguins-species': { learningRate: 0.01, hiddenUnits: [16], seed: 3 },
  'cars-mpg': { learningRate: 0.01, hiddenUnits: [32, 16], dropout: 0.1, seed: 11 },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-train-'));
  const adminKey = `kiln_${randomBytes(6).toString('hex')}_${randomBytes(24).toString('base64url')}`;
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    KILN_DATA_DIR: dataDir,
    KILN_ADMIN_KEY: adminKey,
    KILN_LOG_LEVEL: 'warn',
    KILN_QUEUE_PREFIX: `kb${randomBytes(3).toString('hex')}`,
    KILN_TF_BACKEND: process.env.KILN_TF_BACKEND ?? 'wasm',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  };
  process.env.KILN_TF_BACKEND = env.KILN_TF_BACKEND;
  const config = loadConfig(env);
  const kiln = await startKiln(config, createRootLogger(config));
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${kiln.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  };
  const until = async <T>(f: () => Promise<T | undefined>, intervalMs: number, timeoutMs = 600_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  };

  try {
    const backend = await TfRuntime.init(backendChoiceFromEnv());
    console.log(
      `backend ${backend}, reps ${REPS}, ~${SAMPLES_PER_RUN} samples per run, ` +
        `Kiln at ${kiln.url}${env.DATABASE_URL ? ' (DATABASE_URL)' : ' (embedded PostgreSQL)'}`,
    );
    const only = process.env.BENCH_DATASETS?.split(',').map((s) => s.trim());
    const datasets: PublicDataset[] = [moviesHighlyRated(), penguinsSpecies(), carsMpg()].filter((d) => !only || only.includes(d.name));
    const rows: Array<Record<string, unknown>> = [];

    for (const d of datasets) {
      const ds = await api('POST', '/api/datasets', { name: d.name });
      // timestamps as ISO 8601 (what ingestion accepts); the engine reads both as the same epoch ms
      const stamps = d.table.columns.filter((c) => c.type === 'timestamp').map((c) => c.name);
      const records = d.table.rows.map((r) => {
        const out = { ...r };
        for (const c of stamps) if (out[c] !== null && out[c] !== undefined) out[c] = new Date(out[c] as string | number).toISOString();
        return out;
      });
      const accepted = await api('POST', `/api/datasets/${ds.id}/versions`, { records, schema: { columns: d.table.columns } });
      const version = await until(async () => {
        const v = await api('GET', `/api/datasets/${ds.id}/versions/${accepted.id}`);
        if (v.status === 'failed') throw new Error(`ingestion failed: ${v.failureReason}`);
        return v.status === 'ready' ? v : undefined;
      }, 100);

      const base: TrainSpec = { table: d.table, target: d.target, hyperparameters: HP[d.name] };
      const nTrain = prepareTraining(base).split.train.length;
      const epochs = Math.max(10, Math.ceil(SAMPLES_PER_RUN / nTrain));
      const hp = { ...HP[d.name], epochs, earlyStoppingPatience: 0 };
      const fixed: TrainSpec = { ...base, hyperparameters: hp };

      const job = async (e: number): Promise<{ ms: number; loopSps: number; samples: number; width: number }> => {
        const t0 = performance.now();
        const created = await api('POST', '/api/training-jobs', {
          datasetVersionId: version.id,
          target: d.target,
          task: d.task,
          modelName: `bench-${d.name}`,
          hyperparameters: { ...hp, epochs: e },
        });
        const done = await until(async () => {
          const j = await api('GET', `/api/training-jobs/${created.id}`);
          if (j.status === 'failed' || j.status === 'cancelled') throw new Error(`job ${j.status}: ${JSON.stringify(j.error)}`);
          return j.status === 'succeeded' ? j : undefined;
        }, 20);
        const ms = performance.now() - t0;
        const v = await api('GET', `/api/models/${done.modelVersion.model}/versions/${done.modelVersion.version}`);
        return { ms, loopSps: v.lineage.samplesPerSecond, samples: v.lineage.epochsCompleted * nTrain, width: v.preprocessing.width };
      };

      await job(3); // warm-up (worker thread start-up is part of every timed job, as in production)
      await rawFit(fixed, 3);
      const k: Array<Awaited<ReturnType<typeof job>>> = [];
      const r: Array<Awaited<ReturnType<typeof rawFit>>> = [];
      for (let i = 0; i < REPS; i++) {
        k.push(await job(epochs));
        r.push(await rawFit(fixed, epochs));
      }
      if (k.some((x) => x.samples !== r[0]!.samples))
        throw new Error(`sample counts differ: Kiln ${k.map((x) => x.samples)} vs raw ${r[0]!.samples}`);
      const rawSps = r[0]!.samples / (median(r.map((x) => x.ms)) / 1000);
      const jobSps = k[0]!.samples / (median(k.map((x) => x.ms)) / 1000);
      const loopSps = median(k.map((x) => x.loopSps));
      const row = {
        dataset: d.name,
        trainRows: nTrain,
        epochs,
        batchSize: hp.batchSize ?? 32,
        inputWidth: k[0]!.width,
        rawFitSamplesPerSec: Math.round(rawSps),
        kilnJobSamplesPerSec: Math.round(jobSps),
        kilnWorkerLoopSamplesPerSec: Math.round(loopSps),
        ratioJob: Number((jobSps / rawSps).toFixed(3)),
        ratioLoop: Number((loopSps / rawSps).toFixed(3)),
        kilnJobSecondsMedian: Number((median(k.map((x) => x.ms)) / 1000).toFixed(2)),
        rawFitSecondsMedian: Number((median(r.map((x) => x.ms)) / 1000).toFixed(2)),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }

    const out = {
      generatedAt: new Date().toISOString(),
      command: 'npx tsc -p tsconfig.json && node dist/bench/train/kiln.js',
      environment: {
        backend,
        tfjs: tf.version_core,
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        database: env.DATABASE_URL ? 'DATABASE_URL' : 'embedded',
      },
      settings: { reps: REPS, samplesPerRun: SAMPLES_PER_RUN },
      loadAverageAtEnd: loadavg(),
      throughput: rows,
    };
    const file = join(repoRoot(), 'bench', 'results', 'train-kiln.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    console.log(`\nwrote ${file}\n`);
    console.log(
      '| dataset | rows × epochs | raw fit samples/s | Kiln job samples/s (API → queue → worker thread) | job ratio | worker loop ratio |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const t of rows)
      console.log(
        `| ${t.dataset} | ${t.trainRows} × ${t.epochs} | ${t.rawFitSamplesPerSec} | ${t.kilnJobSamplesPerSec} | ` +
          `${t.ratioJob} | ${t.ratioLoop} |`,
      );
  } finally {
    await kiln.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
