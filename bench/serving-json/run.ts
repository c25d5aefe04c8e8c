/**
 * The serving JSON writer (src/inference/protocols/serving-json.ts) against JSON.stringify, the
 * baseline it replaced, in the same run: response bodies of random float32 outputs as /v1 (nested
 * rows) and /v2 (flat data) carry them, from 1 row to 10 000 rows of 10 values. Reports the median
 * time per body of each and the ratio (writer / JSON.stringify); JSON.stringify prints the same
 * floats as float64 (`2.049999952316284`), the writer as float32 (`2.05`), so the bytes are reported too.
 *
 *   npm run bench:serving-json   → bench/results/serving-json.json
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeServingJson } from '../../src/inference/protocols/serving-json';
import { nest } from '../../src/inference/protocols/tensor-values';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => string, minMs = 300): { ms: number; bytes: number } {
  let bytes = fn().length; // warm-up
  const samples: number[] = [];
  const until = performance.now() + minMs;
  while (samples.length < 5 || performance.now() < until) {
    const t0 = performance.now();
    bytes = fn().length;
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), bytes };
}

const results: Array<Record<string, unknown>> = [];
let seed = 7;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 10 - 5;
for (const rows of [1, 100, 10_000]) {
  const width = 10;
  const data = Float32Array.from({ length: rows * width }, random);
  const v1 = { predictions: nest(data, [rows, width], 'float32') };
  const v1Plain = { predictions: Array.from({ length: rows }, (_, i) => Array.from(data.subarray(i * width, (i + 1) * width))) };
  const v2 = { model_name: 'm', model_version: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: [rows, width], data }] };
  const v2Plain = { ...v2, outputs: [{ ...v2.outputs[0]!, data: Array.from(data) }] };
  for (const [protocol, body, plain] of [
    ['v1', v1, v1Plain],
    ['v2', v2, v2Plain],
  ] as const) {
    const writer = time(() => writeServingJson(body));
    const baseline = time(() => JSON.stringify(plain));
    results.push({
      protocol,
      values: rows * width,
      writerMs: +writer.ms.toFixed(4),
      jsonStringifyMs: +baseline.ms.toFixed(4),
      ratio: +(writer.ms / baseline.ms).toFixed(2),
      writerBytes: writer.bytes,
      jsonStringifyBytes: baseline.bytes,
    });
  }
}
console.table(results);
const out = join(__dirname, '..', '..', '..', 'bench', 'results', 'serving-json.json');
writeFileSync(out, `${JSON.stringify({ node: process.version, at: new Date().toISOString(), results }, null, 2)}\n`);
console.log(`written ${out}`);
