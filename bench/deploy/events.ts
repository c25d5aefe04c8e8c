/**
 * bench/deploy/events — how long an alias move takes to reach every inference replica: from the
 * moment `PUT /api/models/{name}/aliases/production` answers until BOTH replicas answer with the new
 * version. Baseline in the same run: the same moves with change events off (KILN_EVENTS=off), where
 * only the routing poll (KILN_ROUTING_REFRESH_MS, default 500 ms) carries them.
 *
 * On the machine's PostgreSQL + Redis (a scratch database): one management process
 * (KILN_ROLES=gateway,ingestion,training,audit) trains two versions of a small MLP on a seeded table;
 * then, per setting, two `dist/apps/inference/main.js` replicas are started, each polled back to back
 * with one-record predictions while the alias moves MOVES times between the two versions (a random
 * 200–700 ms pause between moves, so the moves do not fall into step with the poll). Both versions
 * stay loaded (the other alias pins the second), so what is measured is propagation, not loading. Also
 * recorded: when the notification reaches a listener in this bench process (delivery alone).
 *   npm run bench:events   (npm run build && node dist/bench/deploy/events.js)
 * Writes bench/results/deploy-events.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { CHANGE_EVENTS_CHANNEL } from '../../src/platform/events';
import { MAIN, spawnKiln, type SpawnedKiln } from '../../test/utils/spawn-kiln';
import { testEnvironment } from '../../test/utils/test-kiln';
import { trainSyntheticMlp, uploadSyntheticTable } from '../common/synthetic-mlp';
import { featureNames, predictBody } from '../serve/fixture';
import { apiClient, until } from '../serve/kiln-server';

const MOVES = Number(process.env.BENCH_EVENTS_MOVES ?? 40);
const INFERENCE = join(__dirname, '..', '..', 'apps', 'inference', 'main.js');
const MODEL = 'bench-events';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ready(kiln: SpawnedKiln): Promise<string> {
  const url = await kiln.url;
  await until(async () => ((await fetch(`${url}/health/ready`).catch(() => null))?.status === 200 ? true : undefined), 50, 120_000);
  return url;
}

interface Stats {
  medianMs: number;
  p90Ms: number;
  maxMs: number;
  meanMs: number;
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    medianMs: round(q(0.5)),
    p90Ms: round(q(0.9)),
    maxMs: round(s[s.length - 1]!),
    meanMs: round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

interface Measured {
  bothReplicas: Stats;
  perReplica: Stats;
  /** From the PUT's answer to the notification reaching a listener in this bench process (the same for either setting). */
  notified: Stats;
}

async function measure(label: string, env: Record<string, string>, management: string, key: string): Promise<Measured> {
  const replicas = [spawnKiln(env, INFERENCE), spawnKiln(env, INFERENCE)];
  const listener = new Client({ connectionString: env.DATABASE_URL });
  let notifiedAt = 0;
  listener.on('notification', () => (notifiedAt ||= performance.now()));
  try {
    await listener.connect();
    await listener.query(`LISTEN ${CHANGE_EVENTS_CHANNEL}`);
    const urls = await Promise.all(replicas.map(ready));
    const api = apiClient(management, key);
    const body = predictBody(featureNames(8), 1);
    // The latest version each replica answered with, and when it changed.
    const seen = urls.map(() => ({ version: 0, changedAt: 0 }));
    let stop = false;
    const pollers = urls.map(async (url, i) => {
      while (!stop) {
        const res = await fetch(`${url}/api/models/${MODEL}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body,
        });
        const answer = (await res.json()) as { version?: number };
        const now = performance.now();
        if (res.status === 200 && answer.version !== seen[i]!.version) seen[i] = { version: answer.version!, changedAt: now };
      }
    });
    await until(async () => (seen.every((s) => s.version === 1) ? true : undefined), 10, 30_000);
    const both: number[] = [];
    const each: number[] = [];
    const notified: number[] = [];
    for (let m = 0; m < MOVES; m++) {
      await sleep(200 + Math.random() * 500);
      const target = m % 2 === 0 ? 2 : 1;
      notifiedAt = 0;
      await api('PUT', `/api/models/${MODEL}/aliases/production`, { version: target });
      const answeredAt = performance.now();
      await until(async () => (seen.every((s) => s.version === target) ? true : undefined), 2, 10_000);
      const lags = seen.map((s) => Math.max(0, s.changedAt - answeredAt));
      each.push(...lags);
      both.push(Math.max(...lags));
      await until(async () => (notifiedAt > 0 ? true : undefined), 2, 10_000);
      notified.push(Math.max(0, notifiedAt - answeredAt));
    }
    stop = true;
    await Promise.all(pollers);
    const result = { bothReplicas: stats(both), perReplica: stats(each), notified: stats(notified) };
    const b = result.bothReplicas;
    console.log(
      `${label.padEnd(34)} both replicas: median ${b.medianMs} ms, p90 ${b.p90Ms} ms, max ${b.maxMs} ms` +
        ` (one replica: median ${result.perReplica.medianMs} ms; notification after median ${result.notified.medianMs} ms)`,
    );
    return result;
  } finally {
    await listener.end().catch(() => undefined);
    for (const r of replicas) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => r.exited));
  }
}

async function main(): Promise<void> {
  const { env, cleanup } = await testEnvironment('redis', { KILN_LOG_LEVEL: 'warn' });
  const manager = spawnKiln({ ...env, KILN_ROLES: 'gateway,ingestion,training,audit' }, MAIN);
  try {
    const url = await ready(manager);
    const key = env.KILN_ADMIN_KEY!;
    const api = apiClient(url, key);
    const { versionId } = await uploadSyntheticTable(api, 'bench-events', 1000, 8, 3);
    for (let i = 0; i < 2; i++) {
      await trainSyntheticMlp(api, {
        datasetVersionId: versionId,
        modelName: MODEL,
        features: 8,
        hyperparameters: { epochs: 3, batchSize: 64, learningRate: 0.01, hiddenUnits: [8], seed: 7 + i },
        promote: 'never',
      });
    }
    await api('PUT', `/api/models/${MODEL}/aliases/production`, { version: 1 });
    await api('PUT', `/api/models/${MODEL}/aliases/staging`, { version: 2 });
    const results = {
      events: await measure('change events (KILN_EVENTS=postgres)', { ...env }, url, key),
      pollOnly: await measure('poll only (KILN_EVENTS=off)', { ...env, KILN_EVENTS: 'off' }, url, key),
    };
    const ratio = +(results.pollOnly.bothReplicas.medianMs / Math.max(0.1, results.events.bothReplicas.medianMs)).toFixed(1);
    console.log(`median propagation to both replicas: poll only / events = ×${ratio}`);
    const out = join(__dirname, '..', '..', '..', 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'deploy-events.json'),
      JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          moves: MOVES,
          routingRefreshMs: 500,
          results,
          ratioPollOnlyOverEvents: ratio,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    manager.child.kill('SIGTERM');
    await manager.exited;
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
