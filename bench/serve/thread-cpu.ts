/**
 * bench/serve/thread-cpu.ts — where the prediction log's CPU goes, thread by thread: the serving
 * (main) thread, the audit chainer's thread (`kiln-chainer`), Node's unnamed helper threads (V8's
 * garbage collector and compiler, libuv; all "node") and the embedded PostgreSQL's processes.
 *
 *   npm run build --silent && node dist/bench/serve/thread-cpu.js
 *   BENCH_SECONDS=8 BENCH_CLIENTS=1,64 node dist/bench/serve/thread-cpu.js
 *
 * Per client count, Kiln is started twice as a child (`KILN_AUDIT` off, then on; its own data dir and
 * embedded PostgreSQL each time), TF Serving's half_plus_two imported (a trivial graph: the model costs
 * next to nothing, so the log's share is as large as it gets) and driven with Open Inference Protocol
 * calls for BENCH_SECONDS after a warm-up; a cell with the log on ends when the log has caught up.
 * Printed per thread group: CPU µs per answered request, and CPU seconds per second of the cell (a
 * rate that falls when the requests wait, where a per-request cost rises). From schedstat (ns).
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { runBench } from '../common/run-bench';
import { scrapeMetrics, sum } from './kiln-metrics';
import { benchKilnEnv, importHalfPlusTwo, startKilnChild, until } from './kiln-server';
import { descendants, threadCpuNs } from './proc-stats';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,64').split(',').filter(Boolean).map(Number);
const BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1, 2, 5] }] });

/** CPU ns per thread group of the Kiln process, plus all its PostgreSQL processes as one group. */
function groups(pid: number): Map<string, number> {
  const out = threadCpuNs(pid);
  let postgres = 0;
  for (const p of descendants(pid)) if (p.comm === 'postgres') for (const ns of threadCpuNs(p.pid).values()) postgres += ns;
  out.set('postgres', postgres);
  return out;
}

async function cell(clients: number, audit: 'off' | 'on'): Promise<void> {
  const { env, adminKey, dataDir } = benchKilnEnv(`threads-${audit}`, 'kbt');
  const kiln = await startKilnChild({ ...env, KILN_AUDIT: audit });
  try {
    await importHalfPlusTwo(kiln.url, adminKey);
    const opts = {
      url: `${kiln.url}/v2/models/half_plus_two/infer`,
      method: 'POST' as const,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: BODY,
      connections: clients,
    };
    await autocannon({ ...opts, duration: 2 });
    const backlog = async () => sum(await scrapeMetrics(kiln.url), 'kiln_audit_staged_records', {});
    await until(async () => ((await backlog()) === 0 ? true : undefined), 50);
    const before = groups(kiln.pid);
    const started = performance.now();
    const r = await autocannon({ ...opts, duration: SECONDS });
    if (audit === 'on') await until(async () => ((await backlog()) === 0 ? true : undefined), 50);
    else await sleep(100);
    const seconds = (performance.now() - started) / 1000;
    const after = groups(kiln.pid);
    const answered = r.requests.total - r.non2xx;
    const rate = Math.round(answered / seconds);
    console.log(`${clients} client(s), audit ${audit}: ${rate} req/s sustained, p50 ${r.latency.p50} ms, ${r.non2xx} non-2xx`);
    const spent = [...after].map(([name, ns]) => [name, ns - (before.get(name) ?? 0)] as const).filter(([, ns]) => ns > 0);
    for (const [name, ns] of spent.sort((a, b) => b[1] - a[1])) {
      const perRequest = (ns / 1000 / answered).toFixed(1).padStart(7);
      console.log(`  ${name.padEnd(16)} ${perRequest} µs/request  ${(ns / 1e9 / seconds).toFixed(3)} CPU s/s`);
    }
  } finally {
    await kiln.stop();
    rmSync(dataDir, { recursive: true, force: true }); // its embedded PostgreSQL, tens of MB
  }
}

runBench(async () => {
  for (const clients of CLIENTS) for (const audit of ['off', 'on'] as const) await cell(clients, audit);
});
