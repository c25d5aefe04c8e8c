/**
 * bench/serve/hook-cost.ts — what a Fastify hook costs per request, next to what Fastify itself costs
 * above a bare `node:http` server, on the record API's request and answer shape:
 *
 *   npm run build --silent && node dist/bench/serve/hook-cost.js
 *   BENCH_HOOKS=0,11,23,40 BENCH_ROUNDS=5 BENCH_SECONDS=3 node dist/bench/serve/hook-cost.js
 *   BENCH_HOOKS=0 BENCH_REQUEST_IDS=/work/main/dist,dist node dist/bench/serve/hook-cost.js
 *
 * A data-plane request runs 23 hooks today (13 onRequest, preParsing, preValidation, preSerialization,
 * 3 onSend, 4 onResponse: Nest's adapter, middie, multipart, compress and Kiln's own; docs/performance.md,
 * "The hooks every data-plane request runs"). This isolates the hook machinery from what the hooks do:
 * each server is a child process: `bare` (the serve bench's bare-http.ts: node:http, reads and JSON-parses
 * the body, answers a fixed JSON body), or Fastify 5 (this file with `serve <hooks>`) with one POST route
 * answering the same object and N no-op onRequest hooks (callback style, the cheapest kind). The cells take turns for
 * BENCH_ROUNDS rounds at BENCH_CLIENTS (default 64) clients (bench/serve/load.ts: autocannon in this
 * process, server CPU from /proc); medians of the server's CPU µs per request, which stays steadier
 * than req/s on a shared machine. Prints the load average.
 *
 * BENCH_REQUEST_IDS (comma-separated builds' dist directories) adds a Fastify cell per build, no hook,
 * whose `genReqId` is that build's `requestIdFor` (as Kiln's is): the request id's cost over HTTP, with
 * the server's real garbage collection, this build against another in the same run.
 */
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import Fastify from 'fastify';
import { runCell } from './load';
import { runBench } from '../common/run-bench';

const ANSWER = {
  model: 'm',
  version: 1,
  requestId: '0190a5c8-7d2e-7c55-8a43-0a5f6d6f7c11',
  predictions: [{ label: 'yes', probability: 0.73 }],
};
const BODY = JSON.stringify({ records: [Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, i / 7]))] });

/**
 * A Fastify server child: one POST route answering the record API's shape, behind `hooks` no-op onRequest
 * hooks; with `idsFrom` (a build's dist directory), request ids from that build's `requestIdFor`.
 */
function serveFastify(hooks: number, idsFrom?: string): void {
  const ids = idsFrom
    ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- another build's compiled module, by path
      (require(join(resolve(idsFrom), 'src/platform/logging/logging.js')) as typeof import('../../src/platform/logging/logging'))
    : null;
  const app = Fastify(ids ? { genReqId: ids.requestIdFor } : {});
  for (let i = 0; i < hooks; i++) app.addHook('onRequest', (_request, _reply, done) => done());
  app.post('/predict', async () => ANSWER);
  void app.listen({ port: 0, host: '127.0.0.1' }).then(() => process.send!({ port: (app.server.address() as AddressInfo).port }));
}

/** Forks a server child (the serve bench's bare-http.ts for `bare`, this file for Fastify) and learns its port. */
async function startServer(mode: 'bare' | 'fastify', hooks: number, idsFrom?: string) {
  const child =
    mode === 'bare'
      ? fork(join(__dirname, 'bare-http.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : fork(__filename, ['serve', String(hooks), ...(idsFrom ? [idsFrom] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  if (mode === 'bare') {
    child.send({ body: JSON.stringify(ANSWER) });
    await new Promise((resolve) => child.once('message', resolve));
  }
  const label = mode === 'bare' ? 'bare node:http' : `fastify, ${hooks} hooks${idsFrom ? `, request ids of ${idsFrom}` : ''}`;
  return { label, child, url: `http://127.0.0.1:${port}/predict` };
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const clients = Number(process.env.BENCH_CLIENTS ?? 64);
  const cells: Array<['bare' | 'fastify', number, string?]> = [
    ['bare', 0],
    ...(process.env.BENCH_HOOKS ?? '0,11,23,40').split(',').map((n): ['fastify', number] => ['fastify', Number(n)]),
    ...(process.env.BENCH_REQUEST_IDS ?? '')
      .split(',')
      .filter(Boolean)
      .map((dist): ['fastify', number, string] => ['fastify', 0, dist]),
  ];
  const servers = await Promise.all(cells.map(([mode, hooks, idsFrom]) => startServer(mode, hooks, idsFrom)));
  const cpu = new Map<string, number[]>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const s of round % 2 === 0 ? servers : [...servers].reverse()) {
        const r = await runCell({
          url: s.url,
          body: BODY,
          headers: { 'content-type': 'application/json' },
          clients,
          seconds,
          warmupSeconds: 1,
          serverPids: () => ({ node: [s.child.pid!] }),
        });
        cpu.set(s.label, [...(cpu.get(s.label) ?? []), 1000 * r.serverCpuMsPerReq.node!]);
        console.log(`round ${round + 1} ${s.label}: ${r.reqPerSec} req/s, ${(1000 * r.serverCpuMsPerReq.node!).toFixed(1)} µs CPU/req`);
      }
    }
  } finally {
    for (const s of servers) s.child.kill();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const bare = median(cpu.get('bare node:http')!);
  console.table(
    servers.map((s) => ({
      server: s.label,
      'µs CPU/req (median)': Number(median(cpu.get(s.label)!).toFixed(1)),
      'vs bare': Number((median(cpu.get(s.label)!) / bare).toFixed(2)),
    })),
  );
  console.log(`${clients} clients, ${rounds} rounds of ${seconds} s`);
}

if (process.argv[2] === 'serve') serveFastify(Number(process.argv[3]), process.argv[4]);
else runBench(main);
