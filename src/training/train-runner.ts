/**
 * Runs a training job's ML work off the HTTP event loop, in a long-lived `worker_threads` Worker
 * (train.worker.ts) taken from a small pool (TrainingWorkerPool: TF.js initialised once per thread,
 * jobs one after another), and speaks a small message protocol with it: start (a dataset version
 * reference, not rows) and cancel flow in; progress, checkpoints and the production-version request
 * of an if-better promotion flow out. The result comes back without the tf model: as model bytes,
 * with the promotion verdict.
 *
 * Checkpoints do not stall training: the worker posts each epoch's checkpoint and goes on; the
 * parent persists them one at a time, in epoch order, through a CheckpointPersister. When a newer
 * checkpoint arrives while one is being saved, the older one still waiting is dropped (coalesced),
 * so the latest durable checkpoint is always one complete epoch and never goes backwards. The
 * result (or error) is handed on only once every progress call and the latest checkpoint are
 * persisted, so registration never races a checkpoint write.
 *
 * `KILN_TRAINING_IN_PROCESS=1` (`opts.training.inProcess`) runs the same code on the calling thread instead (debugging only).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  asBuffer,
  TrainWorkerError,
  type RunTrainingOptions,
  type TrainJobInput,
  type TrainOutcome,
  type WorkerInbound,
  type WorkerOutbound,
} from './train-protocol';
import { trainInThisThread } from './train.worker';

export { TrainWorkerError, type TrainJobInput, type TrainOutcome } from './train-protocol';

function workerFile(): string | null {
  const js = join(__dirname, 'train.worker.js');
  return existsSync(js) ? js : null;
}

/** Trains `input` (a dataset version reference, not rows: the worker thread reads the data itself). */
export async function runTraining(input: TrainJobInput, opts: RunTrainingOptions): Promise<TrainOutcome> {
  const file = workerFile();
  if (opts.training.inProcess || !file) {
    let failure: unknown = null;
    const checkpoints = new CheckpointPersister(opts.onCheckpoint, (e) => (failure ??= e));
    const settle = async (): Promise<void> => {
      await checkpoints.drain();
      if (failure) throw failure;
    };
    const outcome = await trainInThisThread(
      { ...input, resumeFrom: opts.resumeFrom },
      {
        signal: opts.signal,
        onProgress: opts.onProgress,
        productionVersion: () => opts.productionVersion(),
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
  const pool = trainingWorkerPool(file, opts.training.concurrency);
  const worker = pool.acquire();
  // a worker is handed back for the next job only when this job ended cleanly (done, or a training
  // error) and was never cancelled; after a cancel, a crash or an exit it is terminated and replaced
  let reusable = false;
  const send = (m: WorkerInbound): void => worker.postMessage(m);
  let onAbort = (): void => send({ type: 'cancel' });
  let onMessage: ((m: WorkerOutbound) => void) | null = null;
  let onError: ((e: unknown) => void) | null = null;
  let onExit: ((code: number) => void) | null = null;
  try {
    return await new Promise<TrainOutcome>((resolve, reject) => {
      let settled = false;
      let ended = false;
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
      const finished = (numTensors: number | undefined): void => {
        ended = true;
        lastJobTensors = numTensors;
        reusable = !opts.signal.aborted;
      };
      onMessage = (m: WorkerOutbound) => {
        if (ended) return;
        switch (m.type) {
          case 'progress':
            progress = progress.then(() => opts.onProgress(m.progress)).catch(fail);
            break;
          case 'production-request':
            void opts
              .productionVersion()
              .then(
                (production) => send({ type: 'production', production }),
                (e: unknown) => send({ type: 'production-error', message: (e as Error)?.message ?? String(e) }),
              )
              .catch(fail);
            break;
          case 'checkpoint':
            // persisted only after the progress of the same (and earlier) epochs has been handled
            checkpoints.offer(asBuffer(m.bytes), m.epochsCompleted, progress);
            break;
          case 'done':
            finished(m.numTensors);
            m.outcome.modelBytes.weights = asBuffer(m.outcome.modelBytes.weights);
            tail = tail.then(drained).then(() => {
              if (!settled) {
                settled = true;
                resolve(m.outcome);
              }
            }, fail);
            break;
          case 'error':
            finished(m.numTensors);
            tail = tail.then(drained).then(() => fail(new TrainWorkerError(m.name, m.message, m.field)), fail);
            break;
        }
      };
      onError = (e: unknown) => {
        reusable = false;
        fail(e);
      };
      onExit = (code: number) => {
        reusable = false;
        void tail.then(drained).then(() => fail(new Error(`training worker exited with code ${code} before finishing`)), fail);
      };
      // A busy thread reads its messages only between epochs at best, so a cancel is enforced here:
      // the job ends now (nothing registered) and the thread is terminated, not left to finish the run.
      onAbort = () => {
        send({ type: 'cancel' });
        if (ended) return;
        ended = true;
        reusable = false;
        tail = tail.then(drained).then(() => fail(new TrainWorkerError('TrainingCancelledError', 'training was cancelled')), fail);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      send({ type: 'start', data: { ...input, resumeFrom: opts.resumeFrom } });
      if (opts.signal.aborted) onAbort();
      opts.signal.addEventListener('abort', onAbort);
    });
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    if (onMessage) worker.off('message', onMessage);
    if (onError) worker.off('error', onError);
    if (onExit) worker.off('exit', onExit);
    if (reusable && !opts.signal.aborted) pool.release(worker);
    else await pool.discard(worker);
  }
}

let lastJobTensors: number | undefined;

/** Tensors still allocated in the worker thread after the last job that ended there (leak check, tests). */
export function lastTrainingWorkerTensorCount(): number | undefined {
  return lastJobTensors;
}

/**
 * Long-lived training worker threads: each initialises its TF.js backend once and runs jobs one
 * after another. Jobs at once are bounded by the queue's concurrency (KILN_TRAINING_CONCURRENCY);
 * up to that many idle threads are kept. Idle threads do not keep the process alive (unref), a
 * thread that crashed, exited or ran a cancelled job is terminated and a fresh one started for the
 * next job, and `close()` (application shutdown) terminates the idle ones and every busy one as it
 * finishes.
 */
export class TrainingWorkerPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Set<Worker>();
  private readonly dead = new WeakSet<Worker>();
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly maxIdle: number,
  ) {}

  acquire(): Worker {
    let worker: Worker | undefined;
    while ((worker = this.idle.pop())) {
      if (!this.dead.has(worker)) break;
    }
    if (!worker) worker = this.spawn();
    worker.ref();
    this.busy.add(worker);
    return worker;
  }

  release(worker: Worker): void {
    this.busy.delete(worker);
    if (this.closed || this.dead.has(worker) || this.idle.length >= this.maxIdle) {
      void worker.terminate();
      return;
    }
    worker.unref();
    this.idle.push(worker);
  }

  async discard(worker: Worker): Promise<void> {
    this.busy.delete(worker);
    this.dead.add(worker);
    await worker.terminate();
  }

  /** Threads alive now (idle + busy). */
  get size(): number {
    return this.idle.length + this.busy.size;
  }

  get threadIds(): number[] {
    return [...this.idle, ...this.busy].map((w) => w.threadId);
  }

  async close(): Promise<void> {
    this.closed = true;
    const idle = this.idle.splice(0);
    await Promise.all(idle.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const worker = new Worker(this.file);
    // an idle thread that dies is dropped; the listeners also keep an 'error' event from being unhandled
    worker.on('error', () => this.dead.add(worker));
    worker.on('exit', () => {
      this.dead.add(worker);
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return worker;
  }
}

let pool: TrainingWorkerPool | null = null;

function trainingWorkerPool(file: string, size: number): TrainingWorkerPool {
  if (!pool) pool = new TrainingWorkerPool(file, size);
  return pool;
}

/** The process-wide pool, if one was started (tests). */
export function currentTrainingWorkerPool(): TrainingWorkerPool | null {
  return pool;
}

/** Terminates the training worker threads (application shutdown); a later job starts a new pool. */
export async function closeTrainingWorkers(): Promise<void> {
  const p = pool;
  pool = null;
  await p?.close();
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
