/**
 * bench/recommend — `POST /api/models/{name}/recommend` under load for a catalogue of BENCH_ITEMS
 * (default 100 000) items with BENCH_DIM (default 64) dimensional embeddings, at 1, 16 and 64
 * concurrent clients, next to a raw in-process top-K over the same matrix measured in the same run:
 *
 *   npm run bench:recommend               (= npm run build --silent && node dist/bench/recommend/run.js)
 *   BENCH_SECONDS=10 BENCH_CLIENTS=1,16,64 BENCH_ITEMS=100000 BENCH_DIM=64 npm run bench:recommend
 *   KILN_AUDIT=on npm run bench:recommend  (with the prediction log; default off: the data plane alone, as bench/serve)
 *
 * Setup, all through Kiln's API: a generated interaction log (BENCH_USERS users × BENCH_PER_USER
 * interactions, every item at least once, item = a seeded pseudo-random walk over the catalogue)
 * uploaded as CSV, a `recommender` training job (implicit feedback, embeddingSize BENCH_DIM, 1 epoch:
 * this measures serving, not quality), promote always. Kiln runs as a child process
 * (`node dist/src/main.js`, embedded PostgreSQL unless DATABASE_URL, KILN_TF_BACKEND wasm unless set);
 * the load generator (autocannon, bench/serve/load.ts) runs in this process.
 *
 * Raw top-K (the baseline): in this process, on the same backend, the served version's own bytes read
 * from Kiln's artifact store; per call one user row gathered from the user table, one [1, d+2] × [d+2,
 * items] product, tf.topk for the same k' the server asks for (k + the user's seen items, since the
 * request has filterSeen on), the result read back to the host. Measured for BENCH_SECONDS while
 * Kiln is idle; also at batch 64 (one product for 64 users) as the batching ceiling.
 *
 * Each request asks `{user, k: 10}` for a user picked round-robin from 64 users (different bodies so
 * batches mix users). Goal (printed, not asserted): at 64 clients, served requests/s ≥ 50 % of the raw
 * top-K calls/s. Writes bench/results/recommend.json.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import autocannon from 'autocannon';
import { ITEM_FACTORS_LAYER, USER_FACTORS_LAYER } from '../../src/ml';
import { openArtifactStore } from '../../src/platform/artifacts/open-artifact-store';
import { loadConfig } from '../../src/platform/config/kiln-config';
import { loadModelFromBytes, type ModelJson } from '../../src/platform/tfjs/artifact-io';
import { TfRuntime, backendChoiceFromEnv } from '../../src/platform/tfjs/tf-runtime';
import { mulberry32 } from '../../src/platform/util/seeded-random';
import { apiClient, benchKilnEnv, startKilnChild, until, type Api } from '../serve/kiln-server';
import { runBench } from '../common/run-bench';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,16,64').split(',').map(Number);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const DIM = Number(process.env.BENCH_DIM ?? 64);
const USERS = Number(process.env.BENCH_USERS ?? 2000);
const PER_USER = Number(process.env.BENCH_PER_USER ?? 60);
const K = 10;
const QUERY_USERS = 64;
const MODEL = 'bench-recs';

/** The interaction log as CSV, and each user's distinct items (what filterSeen leaves out). */
function interactionLog(): { csv: string; seen: Map<number, Set<number>> } {
  const rand = mulberry32(20251206);
  const lines = ['user,item'];
  const seen = new Map<number, Set<number>>();
  let next = 0;
  for (let u = 0; u < USERS; u++) {
    const mine = new Set<number>();
    for (let n = 0; n < PER_USER; n++) {
      // the first ITEMS interactions cover the catalogue once; the rest are random
      const item = next < ITEMS ? next++ : Math.floor(rand() * ITEMS);
      mine.add(item);
      lines.push(`${u},${item}`);
    }
    seen.set(u, mine);
  }
  if (next < ITEMS) throw new Error(`BENCH_USERS × BENCH_PER_USER must be ≥ BENCH_ITEMS to cover the catalogue`);
  return { csv: lines.join('\n') + '\n', seen };
}

async function uploadCsv(url: string, key: string, datasetId: string, csv: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([csv]), 'interactions.csv');
  const res = await fetch(`${url}/api/datasets/${datasetId}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  if (res.status !== 202) throw new Error(`upload → ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function prepare(api: Api, url: string, key: string, csv: string): Promise<{ modelJson: string; weights: string; trainMs: number }> {
  const dataset = await api('POST', '/api/datasets', { name: `bench-interactions-${randomBytes(3).toString('hex')}` });
  const versionId = await uploadCsv(url, key, dataset.id as string, csv);
  await until(async () => {
    const v = await api('GET', `/api/datasets/${dataset.id}/versions/${versionId}`);
    if (v.status === 'failed') throw new Error(`ingestion failed: ${v.failureReason}`);
    return v.status === 'ready' ? v : undefined;
  }, 250);
  const t0 = performance.now();
  const job = await api('POST', '/api/training-jobs', {
    datasetVersionId: versionId,
    modelName: MODEL,
    template: 'recommender',
    columns: { user: 'user', item: 'item' },
    hyperparameters: { embeddingSize: DIM, epochs: 1, batchSize: 8192, negatives: 1 },
    promote: 'always',
  });
  const done = await until(async () => {
    const j = await api('GET', `/api/training-jobs/${job.id}`);
    if (j.status === 'failed' || j.status === 'cancelled') throw new Error(`training ${j.status}: ${JSON.stringify(j.error)}`);
    return j.status === 'succeeded' ? j : undefined;
  }, 500);
  const v = await api('GET', `/api/models/${MODEL}/versions/${done.modelVersion.version}`);
  return { modelJson: v.artifacts.modelJson, weights: v.artifacts.weights, trainMs: performance.now() - t0 };
}

interface RawResult {
  batch: number;
  callsPerSec: number;
  usersPerSec: number;
  msPerCall: number;
}

/** Raw top-K in this process over the served version's own matrices (see the header). */
async function rawTopK(bytes: { modelJson: ModelJson; weights: Buffer }, kPrime: number, batch: number): Promise<RawResult> {
  const loaded = await loadModelFromBytes(bytes);
  if (loaded.format !== 'layers-model') throw new Error('a recommender is a layers model');
  const users = loaded.model.getLayer(USER_FACTORS_LAYER).getWeights()[0]!;
  const kernel = loaded.model.getLayer(ITEM_FACTORS_LAYER).getWeights()[0]!;
  const rows = Int32Array.from({ length: batch }, (_, i) => i % QUERY_USERS);
  const call = (): void => {
    tf.tidy(() => {
      const top = tf.topk(tf.matMul(tf.gather(users, tf.tensor1d(rows, 'int32')), kernel), kPrime, true);
      top.values.dataSync();
      top.indices.dataSync();
    });
  };
  for (let i = 0; i < 5; i++) call();
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    call();
    calls++;
  }
  const ms = performance.now() - t0;
  loaded.model.dispose();
  const callsPerSec = (calls / ms) * 1000;
  return { batch, callsPerSec: round(callsPerSec), usersPerSec: round(callsPerSec * batch), msPerCall: round(ms / calls, 3) };
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

interface Cell {
  clients: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  vsRawTopK: number;
}

async function loadCell(url: string, key: string, clients: number, raw: number, seconds = SECONDS): Promise<Cell> {
  let n = 0;
  const opts = {
    url: `${url}/api/models/${MODEL}/recommend`,
    method: 'POST' as const,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    connections: clients,
    timeout: 10,
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify({ user: n++ % QUERY_USERS, k: K }) }) }],
  };
  if (WARMUP > 0) await autocannon({ ...opts, duration: WARMUP });
  const r = await autocannon({ ...opts, duration: seconds });
  const reqPerSec = r.requests.average;
  return {
    clients,
    reqPerSec: round(reqPerSec),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    vsRawTopK: round(reqPerSec / raw, 3),
  };
}

async function main(): Promise<void> {
  const { env, dataDir, adminKey } = benchKilnEnv('recommend', 'kbr');
  const config = loadConfig(env);
  process.env.KILN_TF_BACKEND = env.KILN_TF_BACKEND;
  const backend = await TfRuntime.init(backendChoiceFromEnv());
  const kiln = await startKilnChild(env);
  try {
    console.log(
      `backend ${backend}, catalogue ${ITEMS} items × ${DIM} dims, ` +
        `${SECONDS} s per cell, clients ${CLIENTS.join('/')}, audit ${env.KILN_AUDIT}`,
    );
    const api = apiClient(kiln.url, adminKey);
    const { csv, seen } = interactionLog();
    const trained = await prepare(api, kiln.url, adminKey, csv);
    console.log(`trained ${MODEL} in ${(trained.trainMs / 1000).toFixed(1)} s`);
    const predictorKey: string = (await api('POST', '/api/keys', { name: 'bench-recommend', role: 'predictor' })).key;
    // the k' the server asks its top-k for: k + the user's seen items (filterSeen), averaged over the query users
    const kPrime = Math.round(K + [...Array(QUERY_USERS).keys()].reduce((s, u) => s + seen.get(u)!.size, 0) / QUERY_USERS);

    const store = openArtifactStore(config.artifacts);
    const [json, weights] = await Promise.all([store.getBuffer(trained.modelJson), store.getBuffer(trained.weights)]);
    const bytes = { modelJson: JSON.parse(json.toString('utf8')) as ModelJson, weights };
    const raw1 = await rawTopK(bytes, kPrime, 1);
    const raw64 = await rawTopK(bytes, kPrime, 64);
    console.log(
      `raw top-K (k' ${kPrime}): batch 1 ${raw1.callsPerSec} calls/s (${raw1.msPerCall} ms); batch 64 ${raw64.usersPerSec} users/s`,
    );

    // the first call on a version reads its index artifact and builds its matrices: not part of any cell
    await loadCell(kiln.url, predictorKey, 4, raw1.callsPerSec, 3);
    const cells: Cell[] = [];
    for (const clients of CLIENTS) {
      const cell = await loadCell(kiln.url, predictorKey, clients, raw1.callsPerSec);
      cells.push(cell);
      console.log(
        `${clients} clients: ${cell.reqPerSec} req/s, p50 ${cell.p50Ms} ms, p99 ${cell.p99Ms} ms, ` +
          `${cell.non2xx} non-2xx, ${cell.errors} errors; ${(cell.vsRawTopK * 100).toFixed(0)} % of raw top-K`,
      );
    }
    const at64 = cells.find((c) => c.clients === 64);
    const goal = at64 ? { clients: 64, target: 0.5, ratio: at64.vsRawTopK, pass: at64.vsRawTopK >= 0.5 } : null;
    if (goal) console.log(`goal: 64 clients ≥ 50 % of raw top-K: ${goal.pass ? 'PASS' : 'FAIL'} (${(goal.ratio * 100).toFixed(0)} %)`);
    const out = resolve(process.env.BENCH_OUT ?? join(__dirname, '..', '..', '..', 'bench', 'results', 'recommend.json'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      JSON.stringify(
        {
          at: new Date().toISOString(),
          machine: { cpus: cpus().length, node: process.version, backend, loadAverage: loadavg() },
          catalogue: { items: ITEMS, dims: DIM, users: USERS, interactions: USERS * PER_USER },
          settings: { seconds: SECONDS, warmupSeconds: WARMUP, k: K, kPrime, audit: env.KILN_AUDIT },
          rawTopK: [raw1, raw64],
          cells,
          goal,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`wrote ${out}`);
  } finally {
    await kiln.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
