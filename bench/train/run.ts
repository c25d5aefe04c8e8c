/**
 * bench/train — training throughput of Kiln's train() next to a raw in-process `model.fit` of the
 * same network on the same data in the same process, plus the dataset × metric table for the public
 * datasets the unit tests use.
 *
 *   cd /work/main && npx tsc -p tsconfig.json && node dist/bench/train/run.js
 *   KILN_TF_BACKEND=cpu node dist/bench/train/run.js      (another backend)
 *   BENCH_REPS=7 BENCH_SAMPLES=50000 BENCH_DATASETS=movies-highly-rated node dist/bench/train/run.js
 *
 * Throughput: both sides train the same architecture (template 'mlp', same widths, dropout, L2,
 * initialiser seeds, Adam, batch size, class weights) for a fixed number of epochs (early stopping
 * off) and evaluate the validation split every epoch (raw: `validationData`). Kiln additionally does
 * what a job needs: seeded shuffling, per-epoch progress, a checkpoint encoded to bytes every epoch,
 * best-weights tracking. Samples/s = training rows × epochs / wall time; Kiln is reported both for
 * its epoch loop and end to end (train() call incl. split, preprocessing, evaluation).
 * Runs alternate Kiln / raw after one warm-up of each; the median of BENCH_REPS is reported, for
 * wall time and for process CPU time (tfjs on wasm/cpu runs on one thread, so on an idle machine the
 * two agree; on a shared machine CPU time is the steadier comparison).
 *
 * Writes bench/results/train.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { TfRuntime, backendChoiceFromEnv } from '../../src/platform/tfjs/tf-runtime';
import { Hyperparameters, Metrics, TrainSpec, encodeCheckpoint, prepareTraining, train } from '../../src/ml';
import { rawFit } from './raw-fit';
import { PublicDataset, carsMpg, irisSpecies, moviesHighlyRated, penguinsSpecies } from '../../test/support/public-datasets';
import { runBench } from '../common/run-bench';

const REPS = Number(process.env.BENCH_REPS ?? 5);
/** Training samples per timed run (rows × epochs); epochs = ceil(this / training rows), at least 10. */
const SAMPLES_PER_RUN = Number(process.env.BENCH_SAMPLES ?? 25_000);

/** CPU time of this process (user + system), ms: less sensitive than wall time to other processes on a shared machine. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Hyperparameters per dataset: the quality run (early stopping on) — same as the unit tests. */
const QUALITY: Record<string, Partial<Hyperparameters>> = {
  'movies-highly-rated': {
    epochs: 25,
    batchSize: 64,
    learningRate: 0.005,
    hiddenUnits: [32, 16],
    dropout: 0.1,
    earlyStoppingPatience: 4,
    classWeights: 'balanced',
    seed: 1,
  },
  'penguins-species': { epochs: 30, learningRate: 0.01, hiddenUnits: [16], seed: 3 },
  'cars-mpg': { epochs: 40, learningRate: 0.01, hiddenUnits: [32, 16], dropout: 0.1, earlyStoppingPatience: 6, seed: 11 },
  'iris-species': { epochs: 60, learningRate: 0.02, hiddenUnits: [16], dropout: 0, seed: 2 },
};

async function kilnFit(spec: TrainSpec): Promise<{ loopMs: number; totalMs: number; totalCpu: number; samples: number }> {
  let bytes = 0;
  const t0 = performance.now();
  const c0 = cpuMs();
  const r = await train(spec, {
    onProgress: () => undefined,
    onCheckpoint: (c) => {
      bytes += encodeCheckpoint(c).byteLength; // what a job persists every epoch
    },
  });
  const totalMs = performance.now() - t0;
  const totalCpu = cpuMs() - c0;
  const samples = r.split.train.length * r.epochsCompleted;
  r.model.dispose();
  if (bytes === 0) throw new Error('no checkpoint written');
  return { loopMs: (samples / r.samplesPerSecond) * 1000, totalMs, totalCpu, samples };
}

function round(x: number, d = 4): number {
  return Number.isFinite(x) ? Number(x.toFixed(d)) : x;
}

function headline(task: string, m: Metrics): Record<string, number> {
  const a = m as unknown as Record<string, number>;
  const keys =
    task === 'binary'
      ? ['rocAuc', 'prAuc', 'logLoss', 'accuracy', 'precision', 'recall', 'f1', 'threshold']
      : task === 'multiclass'
        ? ['accuracy', 'macroF1']
        : ['rmse', 'mae', 'r2'];
  return Object.fromEntries(keys.map((k) => [k, round(a[k])]));
}

async function main(): Promise<void> {
  const backend = await TfRuntime.init(backendChoiceFromEnv());
  console.log(`backend ${backend} (${TfRuntime.info()?.provider}), ` + `reps ${REPS}, ~${SAMPLES_PER_RUN} samples per run`);
  const only = process.env.BENCH_DATASETS?.split(',').map((s) => s.trim());
  const datasets: PublicDataset[] = [moviesHighlyRated(), penguinsSpecies(), carsMpg(), irisSpecies()].filter(
    (d) => !only || only.includes(d.name),
  );

  const throughput: Array<Record<string, unknown>> = [];
  const quality: Array<Record<string, unknown>> = [];
  for (const d of datasets) {
    const base: TrainSpec = { table: d.table, target: d.target, hyperparameters: QUALITY[d.name] };
    // throughput: fixed epochs, no early stopping
    const nTrain = prepareTraining(base).split.train.length;
    const epochs = Math.max(10, Math.ceil(SAMPLES_PER_RUN / nTrain));
    const fixed: TrainSpec = { ...base, hyperparameters: { ...QUALITY[d.name], epochs, earlyStoppingPatience: 0 } };
    await kilnFit({ ...fixed, hyperparameters: { ...fixed.hyperparameters, epochs: 3 } }); // warm-up
    await rawFit(fixed, 3);
    const kiln: Array<Awaited<ReturnType<typeof kilnFit>>> = [];
    const raw: Array<Awaited<ReturnType<typeof rawFit>>> = [];
    for (let i = 0; i < REPS; i++) {
      kiln.push(await kilnFit(fixed));
      raw.push(await rawFit(fixed, epochs));
    }
    const samples = raw[0].samples;
    const sps = (ms: number[]) => samples / (median(ms) / 1000);
    const rawSps = sps(raw.map((r) => r.ms));
    const rawCpuSps = sps(raw.map((r) => r.cpu));
    const kilnLoopSps = sps(kiln.map((r) => r.loopMs));
    const kilnTotalSps = sps(kiln.map((r) => r.totalMs));
    const kilnTotalCpuSps = sps(kiln.map((r) => r.totalCpu));
    const row = {
      dataset: d.name,
      trainRows: nTrain,
      epochs,
      batchSize: fixed.hyperparameters?.batchSize ?? 32,
      rawFitSamplesPerSec: Math.round(rawSps),
      kilnLoopSamplesPerSec: Math.round(kilnLoopSps),
      kilnEndToEndSamplesPerSec: Math.round(kilnTotalSps),
      ratioLoop: round(kilnLoopSps / rawSps, 3),
      ratioEndToEnd: round(kilnTotalSps / rawSps, 3),
      rawFitSamplesPerCpuSec: Math.round(rawCpuSps),
      kilnEndToEndSamplesPerCpuSec: Math.round(kilnTotalCpuSps),
      ratioEndToEndCpu: round(kilnTotalCpuSps / rawCpuSps, 3),
    };
    throughput.push(row);
    console.log(JSON.stringify(row));

    // quality: as the tests train it (early stopping on), metrics on the held-out test split
    const t0 = performance.now();
    const r = await train(base);
    quality.push({
      dataset: d.name,
      source: d.source,
      task: r.task,
      rows: d.table.rows.length - r.droppedRows,
      split: { train: r.split.train.length, validation: r.split.validation.length, test: r.split.test.length },
      inputWidth: r.preprocessing.width,
      epochs: r.epochsCompleted,
      bestEpoch: r.bestEpoch,
      seconds: round((performance.now() - t0) / 1000, 2),
      test: headline(r.task, r.metrics.test),
      validation: headline(r.task, r.metrics.validation),
    });
    console.log(JSON.stringify(quality[quality.length - 1]));
    r.model.dispose();
  }

  const out = {
    generatedAt: new Date().toISOString(),
    command: 'npx tsc -p tsconfig.json && node dist/bench/train/run.js',
    environment: {
      backend,
      provider: TfRuntime.info()?.provider,
      tfjs: tf.version_core,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
    },
    settings: { reps: REPS, samplesPerRun: SAMPLES_PER_RUN },
    loadAverageAtEnd: loadavg(),
    throughput,
    quality,
  };
  const file = join(repoRoot(), 'bench', 'results', 'train.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
  console.log(
    '\n| dataset | rows × epochs | raw fit samples/s | Kiln loop samples/s | Kiln end-to-end samples/s | ' +
      'loop ratio | e2e ratio | e2e ratio (CPU time) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const t of throughput) {
    console.log(
      `| ${t.dataset} | ${t.trainRows} × ${t.epochs} | ${t.rawFitSamplesPerSec} | ` +
        `${t.kilnLoopSamplesPerSec} | ${t.kilnEndToEndSamplesPerSec} | ` +
        `${t.ratioLoop} | ${t.ratioEndToEnd} | ${t.ratioEndToEndCpu} |`,
    );
  }
  console.log('\n| dataset | task | test metrics |');
  console.log('|---|---|---|');
  for (const q of quality)
    console.log(
      `| ${q.dataset} | ${q.task} | ${Object.entries(q.test as object)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
    );
}

runBench(main);
