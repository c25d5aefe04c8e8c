/**
 * Runs `train()` off the HTTP event loop, in a `worker_threads` Worker (train.worker.ts), and
 * speaks a small message protocol with it: progress and checkpoints flow out (a checkpoint is
 * acknowledged only once the parent has persisted it, so training never runs ahead of its last
 * durable checkpoint), cancel flows in. The result comes back without the tf model: as model bytes.
 *
 * `KILN_TRAINING_IN_PROCESS=1` runs the same code on the calling thread instead (debugging only).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TrainSpec } from './engine';
import { asBuffer, TrainWorkerError, type RunTrainingOptions, type TrainOutcome, type TrainWorkerData, type WorkerInbound, type WorkerOutbound } from './train-protocol';
import { trainInThisThread } from './train.worker';

export { TrainWorkerError, type TrainOutcome } from './train-protocol';

function workerFile(): string | null {
  const js = join(__dirname, 'train.worker.js');
  return existsSync(js) ? js : null;
}

export async function runTraining(spec: TrainSpec, opts: RunTrainingOptions): Promise<TrainOutcome> {
  const file = workerFile();
  if (process.env.KILN_TRAINING_IN_PROCESS === '1' || !file) {
    return trainInThisThread({ spec, resumeFrom: opts.resumeFrom }, opts);
  }
  const worker = new Worker(file, { workerData: { spec, resumeFrom: opts.resumeFrom } satisfies TrainWorkerData });
  const send = (m: WorkerInbound): void => worker.postMessage(m);
  const onAbort = (): void => send({ type: 'cancel' });
  if (opts.signal.aborted) onAbort();
  opts.signal.addEventListener('abort', onAbort);
  try {
    return await new Promise<TrainOutcome>((resolve, reject) => {
      let settled = false;
      let chain: Promise<void> = Promise.resolve();
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      worker.on('message', (m: WorkerOutbound) => {
        switch (m.type) {
          case 'progress':
            chain = chain.then(() => opts.onProgress(m.progress)).catch(fail);
            break;
          case 'checkpoint':
            chain = chain
              .then(() => opts.onCheckpoint(asBuffer(m.bytes), m.epochsCompleted))
              .then(() => send({ type: 'checkpoint-saved' }))
              .catch(fail);
            break;
          case 'done':
            m.outcome.modelBytes.weights = asBuffer(m.outcome.modelBytes.weights);
            chain = chain.then(() => {
              if (!settled) {
                settled = true;
                resolve(m.outcome);
              }
            }, fail);
            break;
          case 'error':
            chain = chain.then(() => fail(new TrainWorkerError(m.name, m.message, m.field)), fail);
            break;
        }
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        void chain.then(() => fail(new Error(`training worker exited with code ${code} before finishing`)));
      });
    });
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
}
