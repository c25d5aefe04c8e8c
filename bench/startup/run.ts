/**
 * Start-up time and idle memory of the all-in-one process (`node dist/src/main.js`):
 *   - embedded, first start (initdb included) and warm start (existing data directory)
 *   - the machine's PostgreSQL with the PostgreSQL queue backend, and PostgreSQL + Redis
 * Time = spawn → first 200 from /health/ready. Idle memory = VmRSS of the Node process 3 s after
 * ready; embedded PostgreSQL's own processes are reported separately as PSS (shared buffers split). Median of --runs (default 3).
 *   npm run build && node dist/bench/startup/run.js [--runs 3]
 */
import { spawn } from 'node:child_process';
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testEnvironment, TestConfiguration } from '../../test/utils/test-kiln';

const MAIN = join(__dirname, '..', '..', 'src', 'main.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** PSS (shared memory split between sharers) of the embedded PostgreSQL processes under `pid`. */
function postgresPssMB(pid: number): number {
  const descendants = (p: number): number[] => {
    const out = execSync(`ps -o pid= --ppid ${p} || true`).toString().trim();
    const kids = out ? out.split('\n').map(Number) : [];
    return kids.flatMap((k) => [k, ...descendants(k)]);
  };
  let kb = 0;
  for (const p of descendants(pid)) {
    const rollup = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
    kb += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  }
  return kb / 1024;
}

async function once(env: Record<string, string>): Promise<{ readyMs: number; rssMB: number; postgresPssMB: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 5);
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out.slice(-1000)}`)));
  });
  for (;;) {
    const res = await fetch(`${url}/health/ready`).catch(() => null);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const readyMs = Date.now() - started;
  await new Promise((r) => setTimeout(r, 3000));
  const result = { readyMs, rssMB: rssMB(child.pid!), postgresPssMB: postgresPssMB(child.pid!) };
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return result;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const rows: Array<Record<string, unknown>> = [];
  const scenarios: Array<[string, TestConfiguration, boolean]> = [
    ['embedded, first start (initdb)', 'embedded', true],
    ['embedded, warm start', 'embedded', false],
    ['PostgreSQL (queues on PostgreSQL)', 'postgres', true],
    ['PostgreSQL + Redis', 'redis', true],
  ];
  for (const [name, configuration, fresh] of scenarios) {
    const samples = [];
    let shared: Awaited<ReturnType<typeof testEnvironment>> | undefined;
    for (let i = 0; i < RUNS; i++) {
      const envBox = fresh || !shared ? await testEnvironment(configuration, { KILN_LOG_LEVEL: 'warn' }) : shared;
      if (!fresh && !shared) {
        shared = envBox;
        await once(envBox.env); // initialise once; warm starts are measured after
      }
      samples.push(await once(envBox.env));
      if (fresh) await envBox.cleanup();
    }
    await shared?.cleanup();
    const row = {
      scenario: name,
      readyMs: median(samples.map((s) => s.readyMs)),
      nodeRssMB: Math.round(median(samples.map((s) => s.rssMB))),
      embeddedPostgresPssMB: Math.round(median(samples.map((s) => s.postgresPssMB))),
      samples,
    };
    rows.push(row);
    console.log(
      `${name.padEnd(36)} ready ${String(row.readyMs).padStart(6)} ms   ` +
        `node RSS ${row.nodeRssMB} MB   embedded postgres PSS ${row.embeddedPostgresPssMB} MB`,
    );
  }
  mkdirSync(join(__dirname, '..', '..', '..', 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(__dirname, '..', '..', '..', 'bench', 'results', 'startup.json'),
    JSON.stringify(
      { command: 'node dist/bench/startup/run.js', date: new Date().toISOString(), node: process.version, runs: RUNS, rows },
      null,
      2,
    ),
  );
}

void main();
