/**
 * bench/engines/request-path.ts — the record API's per-request work between the body's bytes and the
 * model's input array, this build against another build, in one process and one run:
 *
 *   npm run build --silent && node dist/bench/engines/request-path.js <other build>/dist
 *   BENCH_ROUNDS=7 BENCH_MS=300 node dist/bench/engines/request-path.js .build/base/dist
 *
 * Per request: the JSON body parser (`parseJsonBody`: depth cap, prototype guard, JSON.parse), the
 * controller's shape checks, then the model version's preprocessing (`Preprocessor.transform`:
 * validation, standardisation, into a Float32Array), on the bodies `bench:serve` and `bench:engines`
 * send (one record of 30 or 100 numeric features, bench/serve/fixture.ts) and on 32 records.
 * Measured as CPU time of this process (`process.cpuUsage`, user + system) per request, not wall
 * time: on a shared machine other processes' load stretches wall time but hardly CPU time. The two
 * builds take turns (A, B, B, A …) for BENCH_ROUNDS rounds of BENCH_MS each; the median round counts.
 * Both builds' outputs are compared element by element first (they must be identical).
 */
import { join, resolve } from 'node:path';
import { featureNames, predictBody, seededRandom } from '../serve/fixture';
import { runBench } from '../common/run-bench';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const MS = Number(process.env.BENCH_MS ?? 300);

interface Build {
  label: string;
  parseJsonBody: (text: string) => unknown;
  Preprocessor: {
    fit(columns: unknown[], rows: unknown[], features: string[]): { transform(records: unknown[]): Float32Array };
  };
}

function load(label: string, dist: string): Build {
  /* eslint-disable @typescript-eslint/no-require-imports -- another build's compiled modules, by path */
  const body = require(join(dist, 'src/platform/http/json-body.js')) as Pick<Build, 'parseJsonBody'>;
  const pre = require(join(dist, 'src/ml/preprocessing.js')) as Pick<Build, 'Preprocessor'>;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { label, parseJsonBody: body.parseJsonBody, Preprocessor: pre.Preprocessor };
}

/** What the record API does with one body before the model runs (the controller's checks included). */
function requestPath(build: Build, pre: { transform(records: unknown[]): Float32Array }) {
  return (text: string): Float32Array => {
    const body = build.parseJsonBody(text) as { records?: unknown };
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('body');
    const { records, ...rest } = body;
    if (Object.keys(rest).length || !Array.isArray(records)) throw new Error('records');
    return pre.transform(records);
  };
}

/** CPU µs per call of `fn` over about `ms` of wall time. */
function cpuPerCall(fn: () => unknown, ms: number): number {
  const until = performance.now() + ms;
  const c0 = process.cpuUsage();
  let calls = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 50; i++) fn();
    calls += 50;
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / calls;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function main(): void {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/engines/request-path.js <other build>/dist');
  const builds = [load(`baseline (${other})`, resolve(other)), load('this build', resolve(__dirname, '..', '..'))];
  const rows: Array<Record<string, string | number>> = [];
  for (const width of [30, 100]) {
    const features = featureNames(width);
    const columns = features.map((name) => ({ name, type: 'number' }));
    const rand = seededRandom(width);
    const training = Array.from({ length: 200 }, () => Object.fromEntries(features.map((f) => [f, rand() * 4 - 2])));
    const one = predictBody(features, 7);
    const records = (JSON.parse(one) as { records: unknown[] }).records;
    const many = JSON.stringify({ records: Array.from({ length: 32 }, () => records[0]) });
    for (const [bodyLabel, text, n] of [
      ['1 record', one, 1],
      ['32 records', many, 32],
    ] as const) {
      const paths = builds.map((b) => requestPath(b, b.Preprocessor.fit(columns, training, features)));
      const outputs = paths.map((p) => p(text));
      if (!outputs.every((o) => o.length === width * n && o.every((v, i) => Object.is(v, outputs[0]![i]))))
        throw new Error(`${width} features, ${bodyLabel}: the builds disagree`);
      const samples = builds.map(() => [] as number[]);
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) samples[i]!.push(cpuPerCall(() => paths[i]!(text), MS));
      }
      const [base, mine] = samples.map(median) as [number, number];
      const row = {
        body: `${width} features, ${bodyLabel} (${text.length} B)`,
        baselineCpuUsPerRequest: Number(base.toFixed(2)),
        thisBuildCpuUsPerRequest: Number(mine.toFixed(2)),
        ratio: Number((mine / base).toFixed(3)),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
  console.table(rows);
}

runBench(main);
