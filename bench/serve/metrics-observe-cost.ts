/**
 * bench/serve/metrics-observe-cost.ts — what the data plane's per-request prom-client calls cost, with a
 * label object per call (as Kiln does) and through a child cached once per series (`metric.labels(...)`):
 *
 *   npm run build --silent && node dist/bench/serve/metrics-observe-cost.js
 *   BENCH_ROUNDS=9 BENCH_MS=400 node dist/bench/serve/metrics-observe-cost.js
 *
 * The metrics are Kiln's shapes: the HTTP duration histogram (method, route, status_code; 13 buckets),
 * the inference request counter (model, version, protocol, outcome) and duration histogram (model,
 * protocol). CPU time of this process per call (`process.cpuUsage`), the cases in turn, median round.
 * prom-client 15's child still validates the labels and builds the series key on every call, so the
 * child saves only the label object.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { runBench } from '../common/run-bench';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const MS = Number(process.env.BENCH_MS ?? 400);

function cpuPerCall(fn: () => void, ms: number): number {
  const until = performance.now() + ms;
  const c0 = process.cpuUsage();
  let calls = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 500; i++) fn();
    calls += 500;
  }
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / calls;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const registry = new Registry();
  const http = new Histogram({
    name: 'bench_http_request_duration_seconds',
    help: 'h',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'bench_inference_requests_total',
    help: 'c',
    labelNames: ['model', 'version', 'protocol', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'bench_inference_duration_seconds',
    help: 'h',
    labelNames: ['model', 'protocol'],
    registers: [registry],
  });
  const route = '/api/models/:name/predict';
  const method: string = 'POST';
  const status: number = 200;
  const version: number = 3;
  const httpChild = http.labels(method, route, String(status));
  const requestsChild = requests.labels('churn', String(version), 'record', 'ok');
  const durationChild = duration.labels('churn', 'record');
  const cases: Record<string, () => void> = {
    'label objects (as Kiln)': () => {
      http.observe({ method, route, status_code: String(status) }, 0.0031);
      requests.inc({ model: 'churn', version: String(version), protocol: 'record', outcome: 'ok' });
      duration.observe({ model: 'churn', protocol: 'record' }, 0.0022);
    },
    'cached children': () => {
      httpChild.observe(0.0031);
      requestsChild.inc();
      durationChild.observe(0.0022);
    },
  };
  const results = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const names = Object.keys(cases);
    for (const name of round % 2 === 0 ? names : names.reverse())
      results.set(name, [...(results.get(name) ?? []), cpuPerCall(cases[name]!, MS)]);
  }
  const base = median(results.get('label objects (as Kiln)')!);
  for (const [name, xs] of results)
    console.log(`${name}: ${median(xs).toFixed(0)} ns CPU per request (3 calls), ${(median(xs) / base).toFixed(2)}×`);
}

runBench(main);
