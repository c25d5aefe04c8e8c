/**
 * Runs `train()` off the HTTP event loop, in a `worker_threads` Worker (train.worker.ts), and
 * speaks a small message protocol with it: progress and checkpoints flow out, cancel flows in. The
 * result comes back without the tf model: as model bytes.
 *
 * Checkpoints do not stall training: the worker posts each epoch's checkpoint and goes on; the
 * parent persists them one at a time, in epoch order, through a CheckpointPersister. When a newer
 * checkpoint arrives while one is being saved, the older one still waiting is dropped (coalesced),
 * so the latest durable checkpoint is always one complete epoch and never goes backwards. The
 * result (or error) is handed on only once every progress call and the latest checkpoint are
 * persisted, so registration never races a checkpoint write.
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
    let failure: unknown = null;
    const checkpoints = new CheckpointPersister(opts.onCheckpoint, (e) => (failure ??= e));
    const settle = async (): Promise<void> => {
      await checkpoints.drain();
      if (failure) throw failure;
    };
    const outcome = await trainInThisThread(
      { spec, resumeFrom: opts.resumeFrom },
      {
        signal: opts.signal,
        onProgress: opts.onProgress,
        onCheckpoint: async (bytes, epochsCompleted) => {
          if (failure) throw failure;
          checkpoints.offer(bytes, epochsCompleted);
        },
      },
    ).catch(async (e: unknown) => {
      await checkpoints.drain();
      throw e;
    });
    await settle();
    return outcome;
  }
  const worker = new Worker(file, { workerData: { spec, resumeFrom: opts.resumeFrom } satisfies TrainWorkerData });
  const send = (m: WorkerInbound): void => worker.postMessage(m);
  const onAbort = (): void => send({ type: 'cancel' });
  if (opts.signal.aborted) onAbort();
  opts.signal.addEventListener('abort', onAbort);
  try {
    return await new Promise<TrainOutcome>((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      // progress calls run one after another, in epoch order
      let progress: Promise<void> = Promise.resolve();
      const checkpoints = new CheckpointPersister(opts.onCheckpoint, fail);
      // terminal events (done / error / exit) are handled in arrival order, after everything before them is persisted
      let tail: Promise<void> = Promise.resolve();
      const drained = (): Promise<void> => Promise.all([progress, checkpoints.drain()]).then(() => undefined);
      worker.on('message', (m: WorkerOutbound) => {
        switch (m.type) {
          case 'progress':
            progress = progress.then(() => opts.onProgress(m.progress)).catch(fail);
            break;
          case 'checkpoint':
            // persisted only after the progress of the same (and earlier) epochs has been handled
            checkpoints.offer(asBuffer(m.bytes), m.epochsCompleted, progress);
            break;
          case 'done':
            m.outcome.modelBytes.weights = asBuffer(m.outcome.modelBytes.weights);
            tail = tail.then(drained).then(() => {
              if (!settled) {
                settled = true;
                resolve(m.outcome);
              }
            }, fail);
            break;
          case 'error':
            tail = tail.then(drained).then(() => fail(new TrainWorkerError(m.name, m.message, m.field)), fail);
            break;
        }
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        void tail.then(drained).then(() => fail(new Error(`training worker exited with code ${code} before finishing`)), fail);
      });
    });
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
}

/**
 * Persists checkpoints one at a time without making the producer wait. At most one save is in
 * flight and at most one waits behind it: a newer checkpoint replaces the waiting one (both are
 * complete epochs; the newer supersedes it). Saves therefore land in increasing epoch order.
 */
export class CheckpointPersister {
  private pending: { bytes: Buffer; epochsCompleted: number; after: Promise<unknown> } | null = null;
  private running: Promise<void> | null = null;
  private failed = false;

  constructor(
    private readonly save: (bytes: Buffer, epochsCompleted: number) => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Queue a checkpoint; `after` (e.g. the progress chain) is awaited before it is saved. */
  offer(bytes: Buffer, epochsCompleted: number, after: Promise<unknown> = Promise.resolve()): void {
    if (this.failed) return;
    this.pending = { bytes, epochsCompleted, after };
    if (!this.running) this.running = this.pump();
  }

  /** Resolves once nothing is in flight or waiting (the latest offered checkpoint is saved). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pump(): Promise<void> {
    try {
      while (this.pending && !this.failed) {
        const next = this.pending;
        this.pending = null;
        await next.after;
        await this.save(next.bytes, next.epochsCompleted);
      }
    } catch (e) {
      this.failed = true;
      this.pending = null;
      this.onError(e);
    } finally {
      this.running = null;
    }
  }
}
