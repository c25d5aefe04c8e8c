/**
 * bench/engines/record-api-ab.ts — the record API on both engines, this build against another build,
 * both servers up at once and driven in turn (A, B, B, A …) so that both see the same neighbours on a
 * shared machine:
 *
 *   npm run build --silent && node dist/bench/engines/record-api-ab.js <other build>/dist/src/main.js
 *   BENCH_ROUNDS=4 BENCH_SECONDS=3 BENCH_CLIENTS=64 BENCH_HTTP_MODELS=large node dist/bench/engines/record-api-ab.js …
 *
 * Each server (embedded PostgreSQL unless DATABASE_URL, prediction log off) trains the same network
 * through its API (bench/engines/record-model.ts); then, per engine (tfjs, onnxruntime; batching on,
 * 32 rows), BENCH_ROUNDS rounds of one cell per build: req/s and the server's CPU ms per request
 * (bench/serve/load.ts). Medians over the rounds; ratios this build ÷ baseline, and ONNX Runtime ÷
 * TF.js within each build. Prints the load average.
 */
import { resolve } from 'node:path';
import { apiClient, benchKilnEnv, startKilnChild, type KilnChild } from '../serve/kiln-server';
import { runCell } from '../serve/load';
import { scrapeMetrics, serverView } from '../serve/kiln-metrics';
import { NETWORKS, setEngine, trainRecordModel } from './record-model';
import { runBench } from '../common/run-bench';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const MODELS = (process.env.BENCH_HTTP_MODELS ?? 'large').split(',');
const ENGINES = ['tfjs', 'onnxruntime'] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fixed = (x: number, digits = 3) => Number(x.toFixed(digits));

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/engines/record-api-ab.js <other build>/dist/src/main.js');
  const builds = [
    { label: `baseline (${other})`, main: resolve(other) },
    { label: 'this build', main: undefined },
  ];
  const servers: Array<{ kiln: KilnChild; key: string; api: ReturnType<typeof apiClient> }> = [];
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const build of builds) {
      const { env, adminKey } = benchKilnEnv('engines-ab', 'kea');
      const kiln = await startKilnChild(env, [], build.main);
      const api = apiClient(kiln.url, adminKey);
      const key: string = (await api('POST', '/api/keys', { name: 'bench-engines-ab', role: 'predictor' })).key;
      servers.push({ kiln, key, api });
    }
    for (const net of NETWORKS.filter((n) => MODELS.includes(n.key))) {
      const calls = await Promise.all(servers.map((s) => trainRecordModel(s.api, s.kiln.url, net)));
      const results = new Map<string, { reqPerSec: number[]; cpuMsPerReq: number[]; rowsPerCall: number[] }>();
      for (const engine of ENGINES) {
        await Promise.all(servers.map((s, i) => setEngine(s.api, calls[i]!.name, engine)));
        for (let round = 0; round < ROUNDS; round++) {
          for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
            const { kiln, key } = servers[i]!;
            const before = await scrapeMetrics(kiln.url);
            const r = await runCell({
              url: calls[i]!.url,
              body: calls[i]!.body,
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              clients: CLIENTS,
              seconds: SECONDS,
              warmupSeconds: 1,
              serverPids: () => ({ node: [kiln.pid] }),
              serverMainThreadOf: kiln.pid,
            });
            const rowsPerCall = serverView(before, await scrapeMetrics(kiln.url), calls[i]!.name).meanBatchRows ?? NaN;
            const k = `${engine}:${i}`;
            const acc = results.get(k) ?? { reqPerSec: [], cpuMsPerReq: [], rowsPerCall: [] };
            acc.reqPerSec.push(r.reqPerSec);
            acc.cpuMsPerReq.push(r.serverCpuMsPerReq.node ?? NaN);
            acc.rowsPerCall.push(rowsPerCall);
            results.set(k, acc);
            console.log(
              `${net.key} ${engine} round ${round + 1} ${builds[i]!.label}: ${r.reqPerSec} req/s, ` +
                `${r.serverCpuMsPerReq.node} ms CPU/req (main thread ${r.serverMainThreadCpuMsPerReq}), p99 ${r.p99MsExact} ms, ` +
                `${rowsPerCall.toFixed(1)} rows per model call`,
            );
          }
        }
      }
      const m = (engine: string, i: number) => {
        const r = results.get(`${engine}:${i}`)!;
        return { reqPerSec: median(r.reqPerSec), cpuMsPerReq: median(r.cpuMsPerReq), rowsPerCall: median(r.rowsPerCall) };
      };
      for (const engine of ENGINES) {
        const [base, mine] = [m(engine, 0), m(engine, 1)];
        rows.push({
          model: net.key,
          engine,
          baselineReqPerSec: base.reqPerSec,
          thisReqPerSec: mine.reqPerSec,
          reqPerSecRatio: fixed(mine.reqPerSec / base.reqPerSec),
          baselineCpuMsPerReq: fixed(base.cpuMsPerReq, 4),
          thisCpuMsPerReq: fixed(mine.cpuMsPerReq, 4),
          cpuRatio: fixed(mine.cpuMsPerReq / base.cpuMsPerReq),
          baselineRowsPerCall: fixed(base.rowsPerCall, 1),
          thisRowsPerCall: fixed(mine.rowsPerCall, 1),
        });
      }
      for (const [i, build] of builds.entries()) {
        console.log(
          `${net.key}, ${build.label}: onnxruntime ÷ tfjs req/s ${fixed(m('onnxruntime', i).reqPerSec / m('tfjs', i).reqPerSec, 2)}×`,
        );
      }
    }
  } finally {
    for (const { kiln } of servers) await kiln.stop();
  }
  console.table(rows);
  console.log(`${CLIENTS} clients, ${ROUNDS} rounds of ${SECONDS} s`);
}

runBench(main);
