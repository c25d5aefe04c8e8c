/**
 * bench/serve/request-id-cost.ts — the request id of every HTTP call (`requestIdFor`, with its UUIDv7),
 * this build against another build, in one process and one run:
 *
 *   npm run build --silent && node dist/bench/serve/request-id-cost.js <other build>/dist
 *   BENCH_ROUNDS=9 BENCH_MS=400 BENCH_GARBAGE=4096 node dist/bench/serve/request-id-cost.js /work/main/dist
 *
 * Per call: a new request-like object (headers only), `requestIdFor` on it twice (Fastify and the
 * logger both ask), `clientRequestIdOf`, and BENCH_GARBAGE bytes of other short-lived garbage, so the
 * young generation is collected about as often per id as in a server (a record API call allocates tens
 * of kB); that matters because the cost being measured is partly the collector's (a WeakMap entry per
 * request is an ephemeron it traces). Also `uuidV7` alone. CPU time of this process per call
 * (`process.cpuUsage`), the builds in turn (A, B, B, A …), median round; "garbage only" is the floor.
 */
import { join, resolve } from 'node:path';
import { runBench } from '../common/run-bench';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const MS = Number(process.env.BENCH_MS ?? 400);
const GARBAGE = Number(process.env.BENCH_GARBAGE ?? 4096);

interface Ids {
  requestIdFor(req: unknown): string;
  clientRequestIdOf(req: unknown): string | null;
  uuidV7(now?: number): string;
}

function load(dist: string): Ids {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- another build's compiled module, by path
  return require(join(dist, 'src/platform/logging/logging.js')) as Ids;
}

let sink = 0;
const garbage = (): void => {
  sink += new Uint8Array(GARBAGE).length;
};

function request(clientId: boolean): { headers: Record<string, string> } {
  return {
    headers: clientId
      ? { host: 'kiln', 'content-type': 'application/json', 'x-request-id': 'trace-1' }
      : { host: 'kiln', 'content-type': 'application/json' },
  };
}

/** CPU ns per call of `fn` over about `ms` of wall time. */
function cpuPerCall(fn: (i: number) => void, ms: number): number {
  const until = performance.now() + ms;
  const c0 = process.cpuUsage();
  let calls = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 200; i++) fn(calls + i);
    calls += 200;
  }
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / calls;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/serve/request-id-cost.js <other build>/dist');
  const builds = [
    { label: 'baseline', ids: load(resolve(other)) },
    { label: 'this build', ids: load(resolve(__dirname, '../..')) },
  ];
  const cases: Record<string, (ids: Ids) => (i: number) => void> = {
    'requestIdFor (no client id) + garbage': (ids) => () => {
      const req = request(false);
      sink += ids.requestIdFor(req).length + ids.requestIdFor(req).length + (ids.clientRequestIdOf(req) === null ? 1 : 0);
      garbage();
    },
    'requestIdFor (client id kept) + garbage': (ids) => (i) => {
      const req = request(i % 2 === 0);
      sink += ids.requestIdFor(req).length + ids.requestIdFor(req).length + (ids.clientRequestIdOf(req)?.length ?? 0);
      garbage();
    },
    'uuidV7, then read (flattened)': (ids) => () => {
      sink += ids.uuidV7().charCodeAt(20);
    },
  };
  const floor: number[] = [];
  const results = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    floor.push(cpuPerCall(garbage, MS / 2));
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const [name, make] of Object.entries(cases)) {
      for (const b of order) {
        const key = `${name} | ${b.label}`;
        results.set(key, [...(results.get(key) ?? []), cpuPerCall(make(b.ids), MS)]);
      }
    }
  }
  console.log(`garbage only (${GARBAGE} B per call): ${median(floor).toFixed(0)} ns CPU`);
  for (const name of Object.keys(cases)) {
    const base = median(results.get(`${name} | baseline`)!);
    const mine = median(results.get(`${name} | this build`)!);
    const ratio = (mine / base).toFixed(2);
    console.log(
      `${name}: baseline ${base.toFixed(0)} ns, this build ${mine.toFixed(0)} ns, ${(base - mine).toFixed(0)} ns less (${ratio}×)`,
    );
  }
  if (sink === -1) console.log(sink);
}

runBench(main);
