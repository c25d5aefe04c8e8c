/**
 * bench/serve/large-tensors.ts — Open Inference Protocol inference with one large FP32 input, this
 * build against another build, back to back on this machine:
 *
 *   npm run build --silent && node dist/bench/serve/large-tensors.js [/work/main/dist/src/main.js]
 *   BENCH_SIZES_MB=1,4,16 BENCH_ROUNDS=3 BENCH_AUDIT_ROUNDS=1 BENCH_AUDIT=off,on BENCH_FORMS=binary,json \
 *     node dist/bench/serve/large-tensors.js …
 *   BENCH_PROFILE_DIR=/tmp/prof …   (this build's Kiln runs with --cpu-prof, the profile written there at its exit)
 *
 * The model is TF Serving's half_plus_two (y = x/2 + 2, elementwise, input shape [-1]: any rank), imported as a
 * TF.js graph, called with one row of shape [1, N]: next to no model time, so what is measured is what Kiln does around a large tensor —
 * reading the body, the binary or JSON codec, validation, the audit record, the answer.
 *
 * Per size (MB of FP32 data: 1 MB = 262 144 elements) and form:
 *  - `binary`: Triton's binary tensor extension (`Inference-Header-Content-Length`, `binary_data_size`),
 *    every output asked in binary (`binary_data_output`), as tritonclient sends it;
 *  - `json`: the tensor as a JSON list of numbers (each float32 as its shortest double, what
 *    `json.dumps(array.tolist())` writes), JSON answer.
 * For each audit mode (KILN_AUDIT=off, on) both builds run at once, each on its own data dir and
 * embedded PostgreSQL (restarted on the same data between the modes), and are called in turn, one
 * call at a time (A, B, A, B…), so both see the same neighbours. Per call: wall ms until the whole
 * answer is read, CPU ms of the Kiln process (all its threads, the audit chainer's included) and of its
 * PostgreSQL, from /proc; with the audit on, also after the log has caught up (`chained`: every
 * record in the hash chain, staged records counted by kiln_audit_staged_records). Medians over the
 * rounds; MB/s = input MB / wall seconds. Both builds' answers must be byte-identical (SHA-256 of the
 * body compared per call). Prints a table and the load average; writes bench/results/large-tensors.json.
 *
 * Bodies are larger than the default serving limit (16 MB of FP32 as JSON is ~80 MB), so both builds run
 * with KILN_SERVING_BODY_LIMIT_BYTES=256 MiB.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { importHalfPlusTwo, benchKilnEnv, startKilnChild, until, type KilnChild } from './kiln-server';
import { scrapeMetrics, sum } from './kiln-metrics';
import { cpuSecondsBetween, cpuSnapshot, descendants } from './proc-stats';
import { runBench } from '../common/run-bench';

const list = (v: string | undefined, d: string) => (v ?? d).split(',').filter(Boolean);
const SIZES_MB = list(process.env.BENCH_SIZES_MB, '1,4,16').map(Number);
const FORMS = list(process.env.BENCH_FORMS, 'binary,json') as Array<'binary' | 'json'>;
const AUDITS = list(process.env.BENCH_AUDIT, 'off,on') as Array<'off' | 'on'>;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Rounds with the audit on (a 16 MB call then takes a minute until chained on a loaded machine). */
const AUDIT_ROUNDS = Number(process.env.BENCH_AUDIT_ROUNDS ?? ROUNDS);
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const MODEL = 'half_plus_two';
const BODY_LIMIT = String(256 * 1024 * 1024);

interface Request {
  body: Buffer;
  headers: Record<string, string>;
}

/** Deterministic float32 values in [-4, 4) (a xorshift stream: no two runs differ). */
function tensor(elements: number): Float32Array {
  const out = new Float32Array(elements);
  let s = 0x9e3779b9;
  for (let i = 0; i < elements; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 8 - 4;
  }
  return out;
}

function request(form: 'binary' | 'json', data: Float32Array, key: string): Request {
  const auth = { authorization: `Bearer ${key}` };
  if (form === 'json') {
    const body = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'x', shape: [1, data.length], datatype: 'FP32', data: Array.from(data) }] }),
    );
    return { body, headers: { ...auth, 'content-type': 'application/json' } };
  }
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', shape: [1, data.length], datatype: 'FP32', parameters: { binary_data_size: bytes.length } }],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    body: Buffer.concat([header, bytes]),
    headers: { ...auth, 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

async function auditBacklog(url: string): Promise<number> {
  return sum(await scrapeMetrics(url), 'kiln_audit_staged_records', {});
}

interface Call {
  status: number;
  sha256: string;
  wallMs: number;
  nodeCpuMs: number;
  pgCpuMs: number;
  /** Audit on: until the record is in the hash chain. */
  chainedWallMs?: number;
  chainedNodeCpuMs?: number;
  chainedPgCpuMs?: number;
}

async function call(kiln: KilnChild, audit: 'off' | 'on', req: Request): Promise<Call> {
  const pg = () => descendants(kiln.pid).map((p) => p.pid);
  const node0 = cpuSnapshot([kiln.pid]);
  const pg0 = cpuSnapshot(pg());
  const t0 = performance.now();
  const res = await fetch(`${kiln.url}/v2/models/${MODEL}/infer`, { method: 'POST', headers: req.headers, body: req.body });
  const answer = Buffer.from(await res.arrayBuffer());
  const wallMs = performance.now() - t0;
  const node1 = cpuSnapshot([kiln.pid]);
  const pg1 = cpuSnapshot(pg());
  const out: Call = {
    status: res.status,
    sha256: createHash('sha256').update(answer).digest('hex'),
    wallMs,
    nodeCpuMs: cpuSecondsBetween(node0, node1) * 1000,
    pgCpuMs: cpuSecondsBetween(pg0, pg1) * 1000,
  };
  if (res.status !== 200) console.log(`  ${res.status}: ${answer.subarray(0, 300).toString()}`);
  if (audit === 'on') {
    // a scrape runs SQL and prom-client in the server: poll gently, it is charged to the call
    await until(async () => ((await auditBacklog(kiln.url)) === 0 ? true : undefined), 250);
    out.chainedWallMs = performance.now() - t0;
    out.chainedNodeCpuMs = cpuSecondsBetween(node0, cpuSnapshot([kiln.pid])) * 1000;
    out.chainedPgCpuMs = cpuSecondsBetween(pg0, cpuSnapshot(pg())) * 1000;
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const baseline = resolve(process.argv[2] ?? '/work/main/dist/src/main.js');
  const builds = [
    { label: 'baseline', main: baseline, nodeArgs: [] as string[] },
    { label: 'this build', main: undefined, nodeArgs: PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [] },
  ];
  const started = loadavg();
  const envs = builds.map(() => benchKilnEnv('large-tensors', 'klt'));
  const rows: Array<Record<string, unknown>> = [];
  const inputs = new Map(SIZES_MB.map((mb) => [mb, tensor((mb * 1024 * 1024) / 4)]));
  let imported = false;
  for (const audit of AUDITS) {
    const servers: KilnChild[] = [];
    try {
      for (const [i, b] of builds.entries()) {
        const env = { ...envs[i]!.env, KILN_AUDIT: audit, KILN_SERVING_BODY_LIMIT_BYTES: BODY_LIMIT };
        servers.push(await startKilnChild(env, b.nodeArgs, b.main));
      }
      if (!imported) for (const [i, s] of servers.entries()) await importHalfPlusTwo(s.url, envs[i]!.adminKey);
      imported = true;
      for (const mb of SIZES_MB) {
        for (const form of FORMS) {
          const reqs = servers.map((_, i) => request(form, inputs.get(mb)!, envs[i]!.adminKey));
          // one call each first (the model's first call of a shape, JIT, pools), at the first size only with the audit on
          if (audit === 'off' || mb === SIZES_MB[0]) for (const [i, s] of servers.entries()) await call(s, audit, reqs[i]!);
          const calls: Call[][] = builds.map(() => []);
          for (let round = 0; round < (audit === 'on' ? AUDIT_ROUNDS : ROUNDS); round++) {
            for (const [i, s] of servers.entries()) calls[i]!.push(await call(s, audit, reqs[i]!));
            const [a, b] = [calls[0]!.at(-1)!, calls[1]!.at(-1)!];
            if (a.sha256 !== b.sha256 || a.status !== b.status) throw new Error(`${mb} MB ${form}: the builds' answers differ`);
          }
          for (const [i, b] of builds.entries()) {
            const c = calls[i]!;
            const m = (f: (x: Call) => number | undefined) => median(c.map((x) => f(x) ?? NaN));
            const row = {
              audit,
              mb,
              form,
              build: b.label,
              status: c[0]!.status,
              wallMs: m((x) => x.wallMs),
              mbPerS: mb / (m((x) => x.wallMs) / 1000),
              nodeCpuMs: m((x) => x.nodeCpuMs),
              pgCpuMs: m((x) => x.pgCpuMs),
              ...(audit === 'on'
                ? {
                    chainedWallMs: m((x) => x.chainedWallMs),
                    chainedNodeCpuMs: m((x) => x.chainedNodeCpuMs),
                    chainedPgCpuMs: m((x) => x.chainedPgCpuMs),
                  }
                : {}),
            };
            rows.push(row);
            console.log(JSON.stringify(row));
          }
        }
      }
    } finally {
      for (const s of servers) await s.stop();
    }
  }
  // each server's data dir (embedded PostgreSQL, tens of MB)
  for (const e of envs) rmSync(e.dataDir, { recursive: true, force: true });
  const ended = loadavg();
  const f = (x: unknown, d = 0) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');
  console.log(`\n${ROUNDS} rounds, medians`);
  console.log(
    'audit | MB | form | baseline ms (MB/s) | this ms (MB/s) | ms ratio | ' +
      'baseline CPU ms node+pg | this CPU ms node+pg | chained: baseline CPU | this CPU',
  );
  for (const audit of AUDITS)
    for (const mb of SIZES_MB)
      for (const form of FORMS) {
        const [a, b] = ['baseline', 'this build'].map((l) =>
          rows.find((r) => r.audit === audit && r.mb === mb && r.form === form && r.build === l)!,
        ) as Array<Record<string, number>>;
        const cpu = (r: Record<string, number>, chained = false) =>
          chained ? `${f(r.chainedNodeCpuMs)}+${f(r.chainedPgCpuMs)}` : `${f(r.nodeCpuMs)}+${f(r.pgCpuMs)}`;
        console.log(
          `${audit} | ${mb} | ${form} | ${f(a!.wallMs)} (${f(a!.mbPerS, 1)}) | ${f(b!.wallMs)} (${f(b!.mbPerS, 1)}) | ` +
            `${f(b!.wallMs / a!.wallMs, 2)} | ` +
            `${cpu(a!)} | ${cpu(b!)} | ${audit === 'on' ? `${cpu(a!, true)} | ${cpu(b!, true)}` : '– | –'}`,
        );
      }
  const out = resolve(__dirname, '../../../bench/results/large-tensors.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify({ baseline, rounds: ROUNDS, auditRounds: AUDIT_ROUNDS, loadavg: { started, ended }, rows }, null, 2) + '\n',
  );
  console.log(`wrote ${out}`);
}

runBench(main);
