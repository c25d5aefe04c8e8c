/**
 * Entry of a training worker thread (see train-runner.ts): initialises TF.js (KILN_TF_BACKEND) once,
 * when the thread starts, then runs jobs one after another as `start` messages arrive, posting
 * progress, checkpoints and each job's result to the parent. All of a job's ML work happens here:
 * reading the dataset version's Arrow data from the artifact store, training, and the promotion
 * verdict (if-better scores the production model here). Every job's models and optimizer are
 * disposed when it ends, so the thread's tensor count does not grow from job to job.
 * Imports only the ML kernel, platform (tfjs, artifacts) and contract types: no Nest, no domain.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { ProductionVersion, PromotionDecision } from '../contracts';
import {
  DatasetReader,
  encodeCheckpoint,
  train,
  trainRecommender,
  type DataRecord,
  type EpochProgress,
  type Table,
  type TrainResult,
} from '../ml';
import { openArtifactStore, type ArtifactStore, type ArtifactStoreLocation } from '../platform/artifacts';
import { readModelBytes, saveModelToBytes } from '../platform/tfjs/artifact-io';
import { TfRuntime } from '../platform/tfjs/tf-runtime';
import { nameThisThread } from '../platform/util/thread-name';
import { decidePromotion } from './promotion-decision';
import {
  asBuffer,
  isRecommenderSpec,
  type RecommenderOutcome,
  type TrainOutcome,
  type TrainWorkerData,
  type WorkerInbound,
  type WorkerOutbound,
} from './train-protocol';

export interface ThreadHooks {
  onProgress(p: EpochProgress): Promise<void>;
  onCheckpoint(bytes: Buffer, epochsCompleted: number): Promise<void>;
  /** The current production version (the parent asks the registry). */
  productionVersion(): Promise<ProductionVersion | null>;
  signal: AbortSignal;
}

/** One store per location for the thread's life, not one per job (an S3 store holds a client and its connection pool). */
const stores = new Map<string, ArtifactStore>();
function storeAt(location: ArtifactStoreLocation): ArtifactStore {
  const key = JSON.stringify(location);
  let store = stores.get(key);
  if (!store) stores.set(key, (store = openArtifactStore(location)));
  return store;
}

/** The dataset version's rows, read from its stored Arrow IPC data. */
async function readTable(store: ArtifactStore, dataset: TrainWorkerData['dataset']): Promise<Table> {
  const reader = DatasetReader.fromArtifact(store, dataset.sha256, dataset.columns);
  const rows: DataRecord[] = [];
  for await (const chunk of reader.chunks()) for (const r of DatasetReader.rowsOf(chunk)) rows.push(r);
  return { columns: dataset.columns.map((c) => ({ name: c.name, type: c.type })), rows };
}

/** promote never / always / if-better (promotion-decision.ts), on the job's own test split. */
async function promotionOf(
  data: TrainWorkerData,
  table: Table,
  r: TrainResult,
  store: ArtifactStore,
  hooks: ThreadHooks,
): Promise<PromotionDecision | null> {
  const mode = data.promote?.mode ?? 'never';
  if (mode === 'never') return null;
  const view = mode === 'if-better' ? await hooks.productionVersion() : null;
  const production = view && { ...view, load: () => readModelBytes(store, view.modelJsonSha256, view.weightsSha256) };
  const candidate = {
    task: r.task,
    testMetrics: r.metrics.test as unknown as Record<string, unknown>,
    rows: table.rows,
    testRowIndices: r.testPredictions.rowIndices,
    testYTrue: r.testPredictions.yTrue,
  };
  return decidePromotion(mode, data.promote?.metric, candidate, production);
}

/**
 * A `recommender` job: matrix factorisation (src/ml/recommender), with per-epoch checkpoints (a
 * restarted job resumes after its last one) and early stopping on the validation metric like the
 * tabular templates; promotion always / if-better on the stored test metrics (default ndcgAtK, rmse with ratings).
 */
async function trainRecommenderJob(
  data: TrainWorkerData,
  table: Table,
  store: ArtifactStore,
  hooks: ThreadHooks,
): Promise<RecommenderOutcome> {
  const spec = data.spec;
  if (!isRecommenderSpec(spec)) throw new Error('not a recommender spec');
  const result = await trainRecommender(
    { table, columns: spec.columns, hyperparameters: spec.hyperparameters, split: spec.split },
    {
      signal: hooks.signal,
      onProgress: (p) => hooks.onProgress(p),
      resumeFrom: data.resumeFrom ? asBuffer(data.resumeFrom) : undefined,
      onCheckpoint: (c) => hooks.onCheckpoint(encodeCheckpoint(c), c.epochsCompleted),
    },
  );
  try {
    const modelBytes = await saveModelToBytes(result.model);
    const mode = data.promote?.mode ?? 'never';
    const metric = data.promote?.metric ?? (result.feedback === 'explicit' ? 'rmse' : 'ndcgAtK');
    const view = mode === 'if-better' ? await hooks.productionVersion() : null;
    const production = view && { ...view, load: () => readModelBytes(store, view.modelJsonSha256, view.weightsSha256) };
    const candidate = {
      task: 'recommendation',
      testMetrics: result.metrics.test as unknown as Record<string, unknown>,
      rows: [],
      testRowIndices: [],
      testYTrue: [],
    };
    const promotion = await decidePromotion(mode, metric, candidate, production);
    const { model: _model, ...rest } = result;
    return { ...rest, kind: 'recommender', modelBytes, promotion };
  } finally {
    result.model.dispose();
  }
}

/** The training itself; also used directly when KILN_TRAINING_IN_PROCESS=1. */
export async function trainInThisThread(data: TrainWorkerData, hooks: ThreadHooks): Promise<TrainOutcome> {
  await TfRuntime.init(data.tfBackend); // no-op after the thread's first job
  const store = storeAt(data.artifacts);
  const table = await readTable(store, data.dataset);
  if (isRecommenderSpec(data.spec)) return trainRecommenderJob(data, table, store, hooks);
  const result = await train(
    { table, ...data.spec },
    {
      resumeFrom: data.resumeFrom ? asBuffer(data.resumeFrom) : undefined,
      signal: hooks.signal,
      onProgress: (p) => hooks.onProgress(p),
      onCheckpoint: (c) => hooks.onCheckpoint(encodeCheckpoint(c), c.epochsCompleted),
    },
  );
  try {
    const modelBytes = await saveModelToBytes(result.model);
    const promotion = await promotionOf(data, table, result, store, hooks);
    const { model: _model, ...rest } = result;
    return { ...rest, kind: 'tabular', modelBytes, promotion };
  } finally {
    result.model.dispose();
  }
}

if (!isMainThread && parentPort) {
  nameThisThread('kiln-train');
  const port = parentPort;
  const post = (m: WorkerOutbound, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  let current: AbortController | null = null;
  // the running job's open production-request (at most one: asked once, after training)
  let production: { resolve(p: ProductionVersion | null): void; reject(e: Error): void } | null = null;
  const productionVersion = (): Promise<ProductionVersion | null> =>
    new Promise((resolve, reject) => {
      production = { resolve, reject };
      post({ type: 'production-request' });
    });
  const numTensors = (): number | undefined => {
    try {
      return tf.memory().numTensors;
    } catch {
      return undefined;
    }
  };
  const run = async (data: TrainWorkerData, controller: AbortController): Promise<void> => {
    try {
      const outcome = await trainInThisThread(data, {
        signal: controller.signal,
        onProgress: async (progress) => post({ type: 'progress', progress }),
        // posted and not awaited: the parent persists checkpoints in order (coalesced) while training goes on
        onCheckpoint: async (bytes, epochsCompleted) => post({ type: 'checkpoint', bytes, epochsCompleted }),
        productionVersion,
      });
      current = null;
      post({ type: 'done', outcome, numTensors: numTensors() });
    } catch (e) {
      current = null;
      const err = e as Error & { field?: string };
      post({
        type: 'error',
        name: err?.name ?? 'Error',
        message: err?.message ?? String(e),
        ...(typeof err?.field === 'string' ? { field: err.field } : {}),
        numTensors: numTensors(),
      });
    }
  };
  port.on('message', (m: WorkerInbound) => {
    if (m.type === 'cancel') {
      current?.abort();
    } else if (m.type === 'production' || m.type === 'production-error') {
      const asked = production;
      production = null;
      if (m.type === 'production') asked?.resolve(m.production);
      else asked?.reject(new Error(m.message));
    } else if (m.type === 'start') {
      if (current) {
        post({ type: 'error', name: 'Error', message: 'training worker is busy: a job is already running' });
        return;
      }
      const controller = new AbortController();
      current = controller;
      void run(m.data, controller);
    }
  });
}
