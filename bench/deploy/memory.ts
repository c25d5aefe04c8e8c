/**
 * bench/deploy/memory — resident memory (VmRSS) of each split app, for the resource requests in
 * deploy/ (see README "Deploying"). Baseline in the same run: the all-in-one process
 * (`dist/src/main.js`) under the same load.
 *
 * For each setup (all-in-one; the five `dist/apps/<app>/main.js` with KILN_TRANSPORT=tcp) on the
 * machine's PostgreSQL + Redis (a scratch database each):
 *   idle  — VmRSS 3 s after /health/ready answered 200;
 *   peak  — the highest VmRSS sampled every 100 ms during a small load: upload a seeded 2000 × 20
 *           table, train a small MLP (promote always), 500 record-API predictions at concurrency 4,
 *           200 dataset reads through the gateway, until every prediction is in the audit log.
 * Training runs in a worker thread of its process, so the training app's peak includes it.
 *   npm run bench:deploy   (npm run build && node dist/bench/deploy/memory.js)
 * Writes bench/results/deploy-memory.json.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../src/platform/util/free-port';
import { SpawnedKiln, spawnKiln, MAIN } from '../../test/utils/spawn-kiln';
import { testEnvironment } from '../../test/utils/test-kiln';
import { trainSyntheticMlp, uploadSyntheticTable } from '../common/synthetic-mlp';
import { featureNames, predictBody } from '../serve/fixture';
import { apiClient, until } from '../serve/kiln-server';

const APPS_DIR = join(__dirname, '..', '..', 'apps');
const APPS = ['gateway', 'ingestion', 'training', 'inference', 'audit'] as const;
const ROWS = 2000;
const FEATURES = 20;
const SEED = 12;
const PREDICTIONS = 500;
const CONCURRENCY = 4;
const READS = 200;

function rssMB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ready(kiln: SpawnedKiln): Promise<string> {
  const url = await kiln.url;
  await until(async () => ((await fetch(`${url}/health/ready`).catch(() => null))?.status === 200 ? true : undefined), 50, 60_000);
  return url;
}

/** The load; management calls go to `gateway`, predictions to `inference`. */
async function load(gateway: string, inference: string, key: string): Promise<void> {
  const api = apiClient(gateway, key);
  const { versionId } = await uploadSyntheticTable(api, `bench-deploy-${Date.now()}`, ROWS, FEATURES, SEED);
  const features = featureNames(FEATURES);
  const name = 'bench-deploy';
  await trainSyntheticMlp(api, {
    datasetVersionId: versionId,
    modelName: name,
    features: FEATURES,
    hyperparameters: { epochs: 10, batchSize: 64, learningRate: 0.005, hiddenUnits: [32], dropout: 0, earlyStoppingPatience: 0, seed: 7 },
  });
  const predict = (seed: number) =>
    fetch(`${inference}/api/models/${name}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: predictBody(features, seed),
    });
  await until(async () => ((await predict(0)).status === 200 ? true : undefined), 100, 30_000);
  let next = 1;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next <= PREDICTIONS) {
        const res = await predict(next++);
        if (res.status !== 200) throw new Error(`predict → ${res.status}: ${await res.text()}`);
      }
    }),
  );
  for (let i = 0; i < READS; i++) await api('GET', '/api/datasets');
  // Every prediction (and the readiness one) reaches the audit log through the audit worker.
  await until(
    async () => {
      const res = await fetch(`${gateway}/api/audit/predictions/export?model=${name}`, { headers: { authorization: `Bearer ${key}` } });
      const lines = (await res.text()).split('\n').filter((l) => l.trim() !== '').length;
      return res.status === 200 && lines >= PREDICTIONS ? true : undefined;
    },
    200,
    60_000,
  );
}

interface Measured {
  idleMB: number;
  peakMB: number;
}

async function measure(
  label: string,
  processes: Array<{ name: string; entry: string; env: Record<string, string> }>,
  route: (urls: Map<string, string>) => { gateway: string; inference: string },
  key: string,
): Promise<Record<string, Measured>> {
  const running = new Map<string, SpawnedKiln>();
  try {
    for (const p of processes) running.set(p.name, spawnKiln(p.env, p.entry));
    const urls = new Map<string, string>();
    for (const [name, kiln] of running) urls.set(name, await ready(kiln));
    await sleep(3000);
    const result: Record<string, Measured> = {};
    for (const [name, kiln] of running) result[name] = { idleMB: rssMB(kiln.child.pid!), peakMB: 0 };
    const sampler = setInterval(() => {
      for (const [name, kiln] of running) result[name]!.peakMB = Math.max(result[name]!.peakMB, rssMB(kiln.child.pid!));
    }, 100);
    const t0 = performance.now();
    try {
      const { gateway, inference } = route(urls);
      await load(gateway, inference, key);
    } finally {
      clearInterval(sampler);
    }
    console.log(`${label}: load took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const [name, m] of Object.entries(result)) {
      m.idleMB = Math.round(m.idleMB);
      m.peakMB = Math.round(Math.max(m.peakMB, m.idleMB));
      console.log(`  ${name.padEnd(10)} idle ${String(m.idleMB).padStart(4)} MB   peak ${String(m.peakMB).padStart(4)} MB`);
    }
    return result;
  } finally {
    for (const kiln of running.values()) kiln.child.kill('SIGTERM');
    await Promise.all([...running.values()].map((k) => k.exited));
  }
}

async function main(): Promise<void> {
  const results: Record<string, Record<string, Measured>> = {};
  {
    const { env, cleanup } = await testEnvironment('redis', { KILN_LOG_LEVEL: 'warn' });
    try {
      results['all-in-one'] = await measure(
        'all-in-one',
        [{ name: 'all', entry: MAIN, env }],
        (urls) => ({ gateway: urls.get('all')!, inference: urls.get('all')! }),
        env.KILN_ADMIN_KEY!,
      );
    } finally {
      await cleanup();
    }
  }
  {
    const { env, cleanup } = await testEnvironment('redis', { KILN_LOG_LEVEL: 'warn', KILN_TRANSPORT: 'tcp' });
    const rpcPort = await freeLoopbackPort();
    try {
      const appEnv = (app: string): Record<string, string> =>
        app === 'ingestion'
          ? { ...env, KILN_RPC_PORT: String(rpcPort) }
          : app === 'gateway'
            ? { ...env, KILN_RPC_INGESTION: `127.0.0.1:${rpcPort}` }
            : env;
      results.split = await measure(
        'split (KILN_TRANSPORT=tcp)',
        APPS.map((app) => ({ name: app, entry: join(APPS_DIR, app, 'main.js'), env: appEnv(app) })),
        (urls) => ({ gateway: urls.get('gateway')!, inference: urls.get('inference')! }),
        env.KILN_ADMIN_KEY!,
      );
    } finally {
      await cleanup();
    }
  }
  const all = results['all-in-one']!.all!;
  const split = Object.values(results.split!);
  const sum = (k: keyof Measured) => split.reduce((s, m) => s + m[k], 0);
  const ratios = {
    idleSplitOverAllInOne: +(sum('idleMB') / all.idleMB).toFixed(2),
    peakSplitOverAllInOne: +(sum('peakMB') / all.peakMB).toFixed(2),
  };
  console.log(`five split apps together vs all-in-one: idle ×${ratios.idleSplitOverAllInOne}, peak ×${ratios.peakSplitOverAllInOne}`);
  const out = join(__dirname, '..', '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'deploy-memory.json'),
    JSON.stringify(
      { date: new Date().toISOString(), node: process.version, rows: ROWS, features: FEATURES, predictions: PREDICTIONS, results, ratios },
      null,
      2,
    ) + '\n',
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
