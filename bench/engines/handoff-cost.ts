/**
 * bench/engines/handoff-cost.ts — what one model call on the ONNX serving thread costs each thread,
 * and what ONNX Runtime's session options change, for the large network (100 → 512 → 512 → 512 → 1):
 *
 *   npm run build --silent && node dist/bench/engines/handoff-cost.js
 *   BENCH_ROUNDS=5 BENCH_SECONDS=2 BENCH_BATCHES=1,8,32 node dist/bench/engines/handoff-cost.js
 *
 * One call at a time (no overlap), variants and batch sizes taking turns in BENCH_ROUNDS rounds (order
 * alternating); per call: wall µs, the main thread's CPU µs (the hand-off: postMessage, the reply's
 * message event, promises) and the whole process's CPU µs, read from /proc/self/task/<tid>/schedstat
 * (nanoseconds, so short slices count exactly). Medians over the rounds. The main thread's CPU is the
 * number that bounds the record API at 64 clients (that thread parses and answers every request).
 * Then `postMessage` alone: a burst of posts to a thread that only counts them (the wake-ups coalesce,
 * so this is the message's serialisation), with the serving thread's run message and with a flat array.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, resolveHyperparameters } from '../../src/ml/templates';
import { exportDenseStackToOnnx, OnnxModel, onnxSessionThreadFile, ThreadedOnnxModel, type OnnxSessionOptions } from '../../src/ml/onnx';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { seededRandom } from '../serve/fixture';
import { runBench } from '../common/run-bench';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const BATCHES = (process.env.BENCH_BATCHES ?? '1,8,32').split(',').map(Number);
const WIDTH = 100;

/** CPU nanoseconds of one thread of this process (first field of schedstat). */
function threadNs(tid: string): number {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0; // the thread ended between the listing and the read
  }
}
const mainNs = () => threadNs(String(process.pid));
const allNs = () => readdirSync('/proc/self/task').reduce((s, tid) => s + threadNs(tid), 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

interface Sample {
  wallUs: number;
  mainCpuUs: number;
  allCpuUs: number;
}

/** Main-thread CPU µs per `postMessage` of each message shape, bursts of 20 000, median of 5. */
async function postCost(): Promise<Record<string, number>> {
  const counter = new Worker(
    `const { parentPort } = require('node:worker_threads'); let n = 0;
     parentPort.on('message', (m) => { n++; if (m === 'done') parentPort.postMessage(n); });`,
    { eval: true },
  );
  const data = new Float32Array(8 * WIDTH);
  const shapes: Record<string, (i: number) => unknown> = {
    'run message (8 rows)': (i) => ({
      type: 'run',
      call: i,
      session: 1,
      inputs: [{ name: 'features', dtype: 'float32', shape: [8, WIDTH], data }],
      outputNames: ['probability'],
    }),
    'flat array (8 rows)': (i) => [i, 1, 8, WIDTH, data],
  };
  const per = new Map<string, number[]>();
  for (let round = 0; round < 5; round++) {
    for (const [name, make] of Object.entries(shapes)) {
      const n = 20_000;
      const t0 = mainNs();
      for (let i = 0; i < n; i++) counter.postMessage(make(i));
      per.set(name, [...(per.get(name) ?? []), (mainNs() - t0) / 1000 / n]);
      counter.postMessage('done');
      await new Promise((r) => counter.once('message', r));
    }
  }
  await counter.terminate();
  return Object.fromEntries([...per].map(([k, v]) => [k, Number(median(v).toFixed(2))]));
}

async function main(): Promise<void> {
  await TfRuntime.init('wasm');
  const file = onnxSessionThreadFile();
  if (!file) throw new Error('run from dist: no compiled onnx-session.worker.js');
  const hp = resolveHyperparameters('mlp', { hiddenUnits: [512, 512, 512], dropout: 0, seed: 7 });
  const model: tfl.LayersModel = buildModel('mlp', { inputWidth: WIDTH, task: 'binary' }, hp, false);
  const graph = exportDenseStackToOnnx(model, 'features', 'probability');
  model.dispose();

  const threaded = (opts: OnnxSessionOptions) => ThreadedOnnxModel.start(file, graph, opts);
  const variants: Record<string, OnnxModel | ThreadedOnnxModel> = {
    'main thread (defaults)': await OnnxModel.fromBytes(graph, {}),
    'serving thread (defaults: 1 intra-op thread, arena on, mem pattern on)': await threaded({}),
    'serving thread, arena off': await threaded({ cpuMemArena: false }),
    'serving thread, mem pattern off': await threaded({ memPattern: false }),
    'serving thread, 2 intra-op threads': await threaded({ intraOpThreads: 2 }),
    'serving thread, 2 intra-op threads, no spinning': await threaded({ intraOpThreads: 2, intraOpSpinning: false }),
  };
  const rand = seededRandom(99);
  const inputs = new Map(BATCHES.map((b) => [b, Float32Array.from({ length: b * WIDTH }, () => rand() * 2 - 1)]));
  const call = (m: OnnxModel | ThreadedOnnxModel, b: number) =>
    m.run([{ name: 'features', dtype: 'float32', shape: [b, WIDTH], data: inputs.get(b)! }]);

  const slice = async (m: OnnxModel | ThreadedOnnxModel, b: number, ms: number): Promise<Sample> => {
    let calls = 0;
    const [w0, m0, a0] = [performance.now(), mainNs(), allNs()];
    while (performance.now() - w0 < ms) {
      await call(m, b);
      calls++;
    }
    const [w1, m1, a1] = [performance.now(), mainNs(), allNs()];
    return { wallUs: ((w1 - w0) * 1000) / calls, mainCpuUs: (m1 - m0) / 1000 / calls, allCpuUs: (a1 - a0) / 1000 / calls };
  };

  const names = Object.keys(variants);
  for (const b of BATCHES) for (const n of names) await slice(variants[n]!, b, 200); // warm-up
  const per = new Map<string, Sample[]>();
  const ms = (SECONDS * 1000) / ROUNDS / BATCHES.length;
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of BATCHES) {
      for (const n of r % 2 === 0 ? names : [...names].reverse()) {
        const k = `${n}\t${b}`;
        per.set(k, [...(per.get(k) ?? []), await slice(variants[n]!, b, ms)]);
      }
    }
  }
  const rows = [...per].map(([k, samples]) => {
    const [variant, batch] = k.split('\t');
    const m = (f: keyof Sample) => Number(median(samples.map((s) => s[f])).toFixed(1));
    return { variant, batch: Number(batch), wallUsPerCall: m('wallUs'), mainCpuUsPerCall: m('mainCpuUs'), allCpuUsPerCall: m('allCpuUs') };
  });
  rows.sort((a, b) => a.batch - b.batch);
  console.table(rows);
  for (const v of Object.values(variants)) await v.dispose();
  console.log('postMessage alone, main-thread µs per post:', await postCost());
  console.log(`${ROUNDS} rounds of ${SECONDS} s`);
}

runBench(main);
