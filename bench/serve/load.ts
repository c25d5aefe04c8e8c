/**
 * One load-test cell of the serving benchmark: autocannon (programmatic API, in the bench process)
 * against a server in another process, keep-alive connections, one request in flight per connection
 * ("clients"), the same body every request. A warm-up run of the same shape comes first and is not
 * counted. Alongside, the CPU seconds the server's processes and the load generator itself spent
 * during the measured run, so a cell shows what a request costs and whether the generator saturated.
 */
import autocannon from 'autocannon';
import { cpuSecondsBetween, cpuSnapshot, machineBusyTicks, mainThreadCpuNs, ticksToSeconds } from './proc-stats';

export interface CellSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  clients: number;
  seconds: number;
  warmupSeconds: number;
  /** Pids whose CPU time is charged to the server (re-read at each snapshot: PostgreSQL backends come and go). */
  serverPids: () => Record<string, number[]>;
  /** The server's pid, when its main thread's CPU should be reported on its own (the thread that parses and answers every request). */
  serverMainThreadOf?: number;
}

export interface CellResult {
  reqPerSec: number;
  /** autocannon's latency.p50 / latency.p99: whole milliseconds (its histogram truncates). */
  p50Ms: number;
  p99Ms: number;
  /** The same percentiles from every 2xx response's fractional response time (autocannon's `response` event). */
  p50MsExact: number;
  p99MsExact: number;
  meanMs: number;
  maxMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** CPU ms per successful request, per server process group (e.g. node, postgres). */
  serverCpuMsPerReq: Record<string, number>;
  /** CPU ms per successful request of the server's main thread alone (with `serverMainThreadOf`). */
  serverMainThreadCpuMsPerReq?: number;
  /** Share of one core the load generator (this process) used during the run. */
  loadGeneratorCoreShare: number;
  /** Cores' worth of CPU the rest of the machine (other users, not server nor generator) used during the run. */
  otherProcessesCores: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return Number(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(3));
}

export async function runCell(spec: CellSpec): Promise<CellResult> {
  const opts = { url: spec.url, method: 'POST', body: spec.body, headers: spec.headers, connections: spec.clients, timeout: 10 };
  if (spec.warmupSeconds > 0) await autocannon({ ...opts, duration: spec.warmupSeconds });
  const groups = spec.serverPids();
  const before = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, cpuSnapshot(pids)]));
  const mainBefore = spec.serverMainThreadOf === undefined ? 0 : mainThreadCpuNs(spec.serverMainThreadOf);
  const machineBefore = machineBusyTicks();
  const selfBefore = process.cpuUsage();
  const times: number[] = [];
  const r = await autocannon({ ...opts, duration: spec.seconds }).on('response', (_c, status, _b, ms) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const self = process.cpuUsage(selfBefore);
  const machineSeconds = ticksToSeconds(machineBusyTicks() - machineBefore);
  const mainNs = spec.serverMainThreadOf === undefined ? null : mainThreadCpuNs(spec.serverMainThreadOf) - mainBefore;
  const after = Object.fromEntries(Object.entries(spec.serverPids()).map(([k, pids]) => [k, cpuSnapshot(pids)]));
  const ok = r['2xx'];
  const serverSeconds = Object.fromEntries(Object.keys(after).map((k) => [k, cpuSecondsBetween(before[k] ?? new Map(), after[k]!)]));
  const serverCpuMsPerReq = Object.fromEntries(
    Object.entries(serverSeconds).map(([k, s]) => [k, ok > 0 ? Number(((s * 1000) / ok).toFixed(4)) : 0]),
  );
  const selfSeconds = (self.user + self.system) / 1e6;
  const others = machineSeconds - selfSeconds - Object.values(serverSeconds).reduce((a, b) => a + b, 0);
  const sorted = Float64Array.from(times).sort();
  return {
    reqPerSec: Math.round(ok / r.duration),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    p50MsExact: percentile(sorted, 50),
    p99MsExact: percentile(sorted, 99),
    meanMs: Number(r.latency.average.toFixed(2)),
    maxMs: r.latency.max,
    requests: ok,
    non2xx: r.non2xx,
    errors: r.errors,
    seconds: r.duration,
    serverCpuMsPerReq,
    ...(mainNs === null ? {} : { serverMainThreadCpuMsPerReq: ok > 0 ? Number((mainNs / 1e6 / ok).toFixed(4)) : 0 }),
    loadGeneratorCoreShare: Number((selfSeconds / r.duration).toFixed(2)),
    otherProcessesCores: Number((Math.max(0, others) / r.duration).toFixed(2)),
  };
}
