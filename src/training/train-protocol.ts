/** Messages and data shared by the training worker thread (train.worker.ts) and its parent (train-runner.ts). */
import type { ModelBytes } from '../platform/tfjs/artifact-io';
import type { EpochProgress, TrainResult, TrainSpec } from '../ml';

export type TrainOutcome = Omit<TrainResult, 'model'> & { modelBytes: ModelBytes };

export interface RunTrainingOptions {
  resumeFrom?: Buffer;
  onProgress(p: EpochProgress): Promise<void>;
  /**
   * Persist the encoded checkpoint. Training does not wait for it: calls come one at a time in
   * increasing epoch order, an older checkpoint may be skipped when a newer one is already waiting,
   * and the run's result is returned only after the latest one is persisted.
   */
  onCheckpoint(bytes: Buffer, epochsCompleted: number): Promise<void>;
  signal: AbortSignal;
}

/** Serialisable error from the worker: name/field/epoch survive the thread boundary. */
export class TrainWorkerError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = errorName;
  }
}

/**
 * A worker thread is long-lived and runs jobs one after another: `start` begins a job, `cancel`
 * aborts the running one (ignored when none runs). Each job ends with exactly one `done` or `error`,
 * which also report the tensors still allocated in the worker after the job (leak check).
 */
export type WorkerInbound = { type: 'start'; data: TrainWorkerData } | { type: 'cancel' };
export type WorkerOutbound =
  | { type: 'progress'; progress: EpochProgress }
  | { type: 'checkpoint'; bytes: Uint8Array; epochsCompleted: number }
  | { type: 'done'; outcome: TrainOutcome; numTensors?: number }
  | { type: 'error'; name: string; message: string; field?: string; numTensors?: number };

export interface TrainWorkerData {
  spec: TrainSpec;
  resumeFrom?: Uint8Array;
}

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

