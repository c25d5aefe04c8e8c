/**
 * Entry of the training worker thread (see train-runner.ts): initialises TF.js (KILN_TF_BACKEND)
 * in this thread, trains, and posts progress, checkpoints and the result to the parent.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TfRuntime } from '../platform/tfjs/tf-runtime';
import { saveModelToBytes } from '../platform/tfjs/artifact-io';
import { encodeCheckpoint, train, type EpochProgress } from './engine';
import { asBuffer, type TrainOutcome, type TrainWorkerData, type WorkerInbound, type WorkerOutbound } from './train-protocol';

export interface ThreadHooks {
  onProgress(p: EpochProgress): Promise<void>;
  onCheckpoint(bytes: Buffer, epochsCompleted: number): Promise<void>;
  signal: AbortSignal;
}

/** The training itself; also used directly when KILN_TRAINING_IN_PROCESS=1. */
export async function trainInThisThread(data: TrainWorkerData, hooks: ThreadHooks): Promise<TrainOutcome> {
  await TfRuntime.init();
  const result = await train(data.spec, {
    resumeFrom: data.resumeFrom ? asBuffer(data.resumeFrom) : undefined,
    signal: hooks.signal,
    onProgress: (p) => hooks.onProgress(p),
    onCheckpoint: (c) => hooks.onCheckpoint(encodeCheckpoint(c), c.epochsCompleted),
  });
  try {
    const modelBytes = await saveModelToBytes(result.model);
    const { model: _model, ...rest } = result;
    return { ...rest, modelBytes };
  } finally {
    result.model.dispose();
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const controller = new AbortController();
  port.on('message', (m: WorkerInbound) => {
    if (m.type === 'cancel') controller.abort();
  });
  const post = (m: WorkerOutbound, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  trainInThisThread(workerData as TrainWorkerData, {
    signal: controller.signal,
    onProgress: async (progress) => post({ type: 'progress', progress }),
    // posted and not awaited: the parent persists checkpoints in order (coalesced) while training goes on
    onCheckpoint: async (bytes, epochsCompleted) => post({ type: 'checkpoint', bytes, epochsCompleted }),
  }).then(
    (outcome) => {
      post({ type: 'done', outcome });
      port.close();
    },
    (e: unknown) => {
      const err = e as Error & { field?: string };
      post({ type: 'error', name: err?.name ?? 'Error', message: err?.message ?? String(e), ...(typeof err?.field === 'string' ? { field: err.field } : {}) });
      port.close();
    },
  );
}
