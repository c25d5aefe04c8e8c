/**
 * bench/serve/audit-ab.ts — the prediction log's cost on the serving process, this build against
 * another build of Kiln, side by side on a shared machine:
 *
 *   npm run build --silent && node dist/bench/serve/audit-ab.js <other build>/dist/src/main.js
 *   BENCH_ROUNDS=5 BENCH_SECONDS=3 BENCH_CLIENTS=1,64 BENCH_PROFILE_SECONDS=5 node dist/bench/serve/audit-ab.js …
 *
 * Three servers run at once as child processes (each on its own data dir and embedded PostgreSQL, or
 * DATABASE_URL/REDIS_URL when set): the other build with the log on, this build with the log on, this
 * build with the log off (the off path is the same in both builds: it is the reference of "on/off").
 * They are driven in turn, cell after cell, round after round, so all see the same neighbours. The call
 * is Open Inference Protocol inference on a trivial imported graph (TF Serving's half_plus_two), so
 * the model's time is next to nothing and the log's share is as large as it gets. A cell with the log
 * on ends when the log has caught up (kiln_audit_staged_records = 0): "sustained" req/s counts that
 * catch-up, and CPU per request (node, both threads, + its PostgreSQL processes, /proc) covers it.
 * Per server and client count: medians over the rounds. Then, with BENCH_PROFILE_SECONDS > 0, each
 * log-on build once more under --cpu-prof at the largest client count: the main thread's CPU by owner.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { MAIN } from '../../test/utils/spawn-kiln';
import { summarise, type CpuProfile } from './cpu-profile';
import { scrapeMetrics, sum } from './kiln-metrics';
import { importHalfPlusTwo, benchKilnEnv, startKilnChild, until, type KilnChild } from './kiln-server';
import { runCell } from './load';
import { cpuSecondsBetween, cpuSnapshot, descendants } from './proc-stats';
import { runBench } from '../common/run-bench';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,64').split(',').filter(Boolean).map(Number);
const PROFILE_SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 0);
const MODEL = 'half_plus_two';
const BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }] });

const backlog = async (url: string) => sum(await scrapeMetrics(url), 'kiln_audit_staged_records', {});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const serverPids = (pid: number) => [pid, ...descendants(pid).map((p) => p.pid)];

interface Server {
  label: string;
  main: string;
  audit: 'on' | 'off';
  kiln?: KilnChild;
  key?: string;
  dataDir?: string;
}

/** Stops the server and removes its data dir (its embedded PostgreSQL is tens of MB). */
async function stop(s: Server): Promise<void> {
  await s.kiln?.stop();
  if (s.dataDir) rmSync(s.dataDir, { recursive: true, force: true });
}

async function start(s: Server, nodeArgs: string[] = []): Promise<void> {
  const { env, adminKey, dataDir } = benchKilnEnv('audit-ab', 'kaa');
  s.dataDir = dataDir;
  s.kiln = await startKilnChild({ ...env, KILN_AUDIT: s.audit }, nodeArgs, s.main);
  s.key = adminKey;
  await importHalfPlusTwo(s.kiln.url, adminKey);
  const opts = { url: `${s.kiln.url}/v2/models/${MODEL}/infer`, method: 'POST', body: BODY, connections: 16, duration: 2 };
  await autocannon({ ...opts, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' } });
  await until(async () => ((await backlog(s.kiln!.url)) === 0 ? true : undefined), 50);
}

/** One cell: load, then wait for the log to catch up; CPU of node + PostgreSQL over both. */
async function cell(s: Server, clients: number) {
  const url = `${s.kiln!.url}/v2/models/${MODEL}/infer`;
  const headers = { authorization: `Bearer ${s.key!}`, 'content-type': 'application/json' };
  await autocannon({ url, method: 'POST', body: BODY, headers, connections: clients, duration: 1 });
  await until(async () => ((await backlog(s.kiln!.url)) === 0 ? true : undefined), 20);
  const cpuBefore = cpuSnapshot(serverPids(s.kiln!.pid));
  const r = await runCell({ url, body: BODY, headers, clients, seconds: SECONDS, warmupSeconds: 0, serverPids: () => ({}) });
  const drainStarted = performance.now();
  await until(async () => ((await backlog(s.kiln!.url)) === 0 ? true : undefined), 20);
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  const cpuMs = 1000 * cpuSecondsBetween(cpuBefore, cpuSnapshot(serverPids(s.kiln!.pid)));
  return {
    reqPerSec: r.reqPerSec,
    sustained: Math.round(r.requests / (r.seconds + drainSeconds)),
    cpuMsPerReq: cpuMs / Math.max(1, r.requests),
    p50: r.p50MsExact,
    p99: r.p99MsExact,
    non2xx: r.non2xx + r.errors,
  };
}

async function profileOf(s: Server, clients: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-audit-ab-prof-'));
  await start(s, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const url = `${s.kiln!.url}/v2/models/${MODEL}/infer`;
  const headers = { authorization: `Bearer ${s.key!}`, 'content-type': 'application/json' };
  const from = Number(process.hrtime.bigint() / 1000n);
  await autocannon({ url, method: 'POST', body: BODY, headers, connections: clients, duration: PROFILE_SECONDS });
  const to = Number(process.hrtime.bigint() / 1000n);
  const pid = s.kiln!.pid;
  await stop(s);
  const file = readdirSync(dir).find((f) => f.includes(`.${pid}.0.`));
  if (!file) throw new Error(`no main-thread profile in ${dir}`);
  const sum = summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, from, to, 25);
  console.log(`\nprofile ${s.label}, ${clients} clients, main thread (idle ${sum.idlePct} %), ${join(dir, file)}`);
  for (const r of sum.byOwner) console.log(`  ${r.pct.toFixed(1).padStart(5)} %  ${r.name}`);
  console.log('  top self:');
  for (const r of sum.selfByFunction.slice(0, 15)) console.log(`  ${r.pct.toFixed(1).padStart(5)} %  ${r.name}`);
}

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/serve/audit-ab.js <other build>/dist/src/main.js');
  const servers: Server[] = [
    { label: `baseline on (${other})`, main: resolve(other), audit: 'on' },
    { label: 'this build on', main: MAIN, audit: 'on' },
    { label: 'this build off', main: MAIN, audit: 'off' },
  ];
  try {
    for (const s of servers) await start(s);
    type Row = Awaited<ReturnType<typeof cell>>;
    const rows = new Map<string, Row[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const clients of CLIENTS) {
        for (const s of round % 2 ? [...servers].reverse() : servers) {
          const r = await cell(s, clients);
          const k = `${s.label}|${clients}`;
          rows.set(k, [...(rows.get(k) ?? []), r]);
          console.log(
            `round ${round + 1} ${clients} clients ${s.label}: ${JSON.stringify({ ...r, cpuMsPerReq: Number(r.cpuMsPerReq.toFixed(4)) })}`,
          );
        }
      }
    }
    console.log(`\n${ROUNDS} rounds of ${SECONDS} s`);
    for (const clients of CLIENTS) {
      const med = (s: Server) => {
        const rs = rows.get(`${s.label}|${clients}`)!;
        return {
          sustained: median(rs.map((r) => r.sustained)),
          cpuMsPerReq: median(rs.map((r) => r.cpuMsPerReq)),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
        };
      };
      const [base, mine, off] = servers.map(med) as [ReturnType<typeof med>, ReturnType<typeof med>, ReturnType<typeof med>];
      console.log(`\n${clients} clients (medians)`);
      for (const [i, m] of [base, mine, off].entries()) {
        const latency = `p50 ${m.p50} ms, p99 ${m.p99} ms`;
        console.log(`  ${servers[i]!.label.padEnd(40)} sustained ${m.sustained} req/s, CPU ${m.cpuMsPerReq.toFixed(4)} ms/req, ${latency}`);
      }
      const r2 = (x: number) => x.toFixed(2);
      const ms = (x: number) => `${x.toFixed(4)} ms`;
      console.log(`  on/off sustained: baseline ${r2(base.sustained / off.sustained)}, this build ${r2(mine.sustained / off.sustained)}`);
      const [baseCost, mineCost] = [ms(base.cpuMsPerReq - off.cpuMsPerReq), ms(mine.cpuMsPerReq - off.cpuMsPerReq)];
      console.log(`  audit CPU per request (on − off): baseline ${baseCost}, this build ${mineCost}`);
      console.log(`  p50 added: baseline ${ms(base.p50 - off.p50)}, this build ${ms(mine.p50 - off.p50)}`);
    }
  } finally {
    for (const s of servers) await stop(s);
  }
  if (PROFILE_SECONDS > 0) for (const s of servers.slice(0, 2)) await profileOf(s, Math.max(...CLIENTS));
}

runBench(main);
