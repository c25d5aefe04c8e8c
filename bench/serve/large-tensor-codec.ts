/**
 * bench/serve/large-tensor-codec.ts — the CPU Kiln spends on one large FP32 tensor outside HTTP and
 * PostgreSQL, this build's functions against another build's, in one process, alternating rounds:
 *
 *   npm run build --silent && node dist/bench/serve/large-tensor-codec.js [/work/main/dist]
 *   BENCH_MB=16 BENCH_ROUNDS=5 node dist/bench/serve/large-tensor-codec.js …
 *
 * Steps (each on the same 16 MB FP32 tensor, [1, N]):
 *  - `binary → tensor`: inlineBinaryInputs + parseInferRequest (the /v2 binary tensor extension's request);
 *  - `JSON list → tensor`: parseInferRequest on the parsed JSON body (JSON.parse itself is left out: it is
 *    the same in both builds);
 *  - `audit: inputs → record`: toJsonSafe of the tensor (what the audit sink stores);
 *  - `chainer: canonical JSON`: canonicalJson of that record value (what the chainer hashes and stores).
 * Median ms per step per build, and the ratio. The whole-server view is bench/serve/large-tensors.ts.
 */
import { join, resolve } from 'node:path';
import { runBench } from '../common/run-bench';

const MB = Number(process.env.BENCH_MB ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Build {
  label: string;
  inlineBinaryInputs(body: unknown, binary: Buffer | undefined, model: string): unknown;
  parseInferRequest(body: unknown, model: unknown): { inputs: Array<{ data: ArrayLike<number> }> };
  toJsonSafe(value: unknown): unknown;
  canonicalJson(value: unknown): string;
}

function load(label: string, dist: string): Build {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const binary = require(join(dist, 'src/inference/protocols/binary-tensors.js'));
  const oip = require(join(dist, 'src/inference/protocols/open-inference.js'));
  const safe = require(join(dist, 'src/audit/chain/json-safe.js'));
  const canonical = require(join(dist, 'src/audit/chain/canonical-json.js'));
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    label,
    inlineBinaryInputs: binary.inlineBinaryInputs,
    parseInferRequest: oip.parseInferRequest,
    toJsonSafe: safe.toJsonSafe,
    canonicalJson: canonical.canonicalJson,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const other = resolve(process.argv[2] ?? '/work/main/dist');
  const builds = [load(`baseline (${other})`, other), load('this build', resolve(__dirname, '../../'))];
  const n = (MB * 1024 * 1024) / 4;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = Math.fround(Math.sin(i) * 4);
  const bytes = Buffer.from(values.buffer);
  const list = Array.from(values);
  const model = {
    name: 'm',
    inputs: [{ name: 'x', dtype: 'float32', shape: [-1] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [-1] }],
  };
  const binaryBody = { inputs: [{ name: 'x', shape: [1, n], datatype: 'FP32', parameters: { binary_data_size: bytes.length } }] };
  const jsonBody = { inputs: [{ name: 'x', shape: [1, n], datatype: 'FP32', data: list }] };
  const record = { name: 'x', shape: [1, n], datatype: 'float32', data: values };
  const steps: Array<[string, (b: Build) => unknown]> = [
    ['binary → tensor', (b) => b.parseInferRequest(b.inlineBinaryInputs(binaryBody, bytes, 'm'), model)],
    ['JSON list → tensor', (b) => b.parseInferRequest(jsonBody, model)],
    ['audit: inputs → record', (b) => b.toJsonSafe([record])],
    ['chainer: canonical JSON', (b) => b.canonicalJson([{ ...record, data: list }])],
  ];
  const times = steps.map(() => builds.map(() => [] as number[]));
  const outputs = steps.map(() => builds.map(() => ''));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [s, [, step]] of steps.entries()) {
      for (const [i, b] of builds.entries()) {
        const t0 = performance.now();
        const out = step(b);
        times[s]![i]!.push(performance.now() - t0);
        // the same result in both builds (typed arrays compared by their values)
        outputs[s]![i] =
          typeof out === 'string'
            ? out
            : JSON.stringify(out, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v));
      }
      if (outputs[s]![0] !== outputs[s]![1]) throw new Error(`${steps[s]![0]}: the builds' results differ`);
    }
  }
  console.log(`${MB} MB FP32 (${n} elements), ${ROUNDS} rounds, median ms per step`);
  console.log('step | baseline ms | this build ms | this ÷ baseline');
  for (const [s, [name]] of steps.entries()) {
    const [a, b] = times[s]!.map(median) as [number, number];
    console.log(`${name} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(2)}`);
  }
}

runBench(main);
