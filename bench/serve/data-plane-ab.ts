/**
 * bench/serve/data-plane-ab.ts — the HTTP pipeline of a data-plane call alone, this build against
 * another build of Kiln, side by side on a shared machine:
 *
 *   npm run build --silent && node dist/bench/serve/data-plane-ab.js <other build>/dist/src/main.js
 *   BENCH_ROUNDS=6 BENCH_SECONDS=3 BENCH_CLIENTS=64 node dist/bench/serve/data-plane-ab.js …
 *
 * Both builds run at once as child processes (each on its own data dir and embedded PostgreSQL, the
 * prediction log off) and are driven in turn, cell after cell (A, B, A, B…), so both see the same
 * neighbours on the machine. The call is Open Inference Protocol inference on a trivial imported graph
 * (TF Serving's half_plus_two, y = x/2 + 2, two values): routing, the body parser, auth, the handler,
 * the codec, the answer and every hook, which is the part the direct routes
 * (src/platform/http/direct-routes.ts) change, with next to no model time (the model's share is in
 * bench/serve/run.ts's profile). Per build: median req/s and median server CPU ms per request over
 * the rounds, and the ratio of each. Prints the load average.
 */
import { resolve } from 'node:path';
import { importHalfPlusTwo, benchKilnEnv, startKilnChild, type KilnChild } from './kiln-server';
import { runCell } from './load';
import { descendants } from './proc-stats';
import { runBench } from '../common/run-bench';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const MODEL = 'half_plus_two';
const BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }] });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/serve/data-plane-ab.js <other build>/dist/src/main.js');
  const builds: Array<{ label: string; main?: string }> = [{ label: `baseline (${other})`, main: resolve(other) }, { label: 'this build' }];
  const servers: Array<{ kiln: KilnChild; key: string }> = [];
  try {
    for (const build of builds) {
      const { env, adminKey } = benchKilnEnv('data-plane-ab', 'kab');
      const kiln = await startKilnChild(env, [], build.main);
      servers.push({ kiln, key: adminKey });
      await importHalfPlusTwo(kiln.url, adminKey);
    }
    const results = builds.map(() => ({ reqPerSec: [] as number[], cpuMsPerReq: [] as number[] }));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, { kiln, key }] of servers.entries()) {
        const r = await runCell({
          url: `${kiln.url}/v2/models/${MODEL}/infer`,
          body: BODY,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          clients: CLIENTS,
          seconds: SECONDS,
          warmupSeconds: 1,
          serverPids: () => ({ node: [kiln.pid], postgres: descendants(kiln.pid).map((p) => p.pid) }),
        });
        const cpu = Object.values(r.serverCpuMsPerReq).reduce((a, x) => a + x, 0);
        results[i]!.reqPerSec.push(r.reqPerSec);
        results[i]!.cpuMsPerReq.push(cpu);
        console.log(`round ${round + 1} ${builds[i]!.label}: ${r.reqPerSec} req/s, p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}`);
      }
    }
    const [a, b] = results.map((r) => ({ reqPerSec: median(r.reqPerSec), cpuMsPerReq: median(r.cpuMsPerReq) }));
    console.log(`\n${CLIENTS} clients, ${ROUNDS} rounds of ${SECONDS} s`);
    for (const [i, r] of [a!, b!].entries())
      console.log(`${builds[i]!.label}: median ${r.reqPerSec} req/s, ${r.cpuMsPerReq.toFixed(4)} CPU ms/request`);
    const ratio = (x: number, y: number) => (x / y).toFixed(2);
    console.log(
      `this build ÷ baseline: req/s ${ratio(b!.reqPerSec, a!.reqPerSec)}×, CPU per request ${ratio(b!.cpuMsPerReq, a!.cpuMsPerReq)}×`,
    );
  } finally {
    for (const s of servers) await s.kiln.stop();
  }
}

runBench(main);
