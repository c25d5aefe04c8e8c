/**
 * Entry of a training worker thread (see train-runner.ts): initialises TF.js (KILN_TF_BACKEND) once,
 * when the thread starts, then runs jobs one after another as `start` messages arrive, posting
 * progress, checkpoints and each job's result to the parent. Every job's model and optimizer are
 * disposed when it ends, so the thread's tensor count does not grow from job to job.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { TfRuntime } from '../platform/tfjs/tf-runtime';
import { saveModelToBytes } from '../platform/tfjs/artifact-io';
import { encodeCheckpoint, train, type EpochProgress } from '../ml';
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
  const post = (m: WorkerOutbound, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  // the backend is initialised once per thread, before (or while) the first job arrives
  const ready = TfRuntime.init().catch(() => undefined);
  let current: AbortController | null = null;
  const numTensors = (): number | undefined => {
    try {
      return tf.memory().numTensors;
    } catch {
      return undefined;
    }
  };
  const run = async (data: TrainWorkerData, controller: AbortController): Promise<void> => {
    await ready;
    try {
      const outcome = await trainInThisThread(data, {
        signal: controller.signal,
        onProgress: async (progress) => post({ type: 'progress', progress }),
        // posted and not awaited: the parent persists checkpoints in order (coalesced) while training goes on
        onCheckpoint: async (bytes, epochsCompleted) => post({ type: 'checkpoint', bytes, epochsCompleted }),
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
