/** Messages and data shared by the training worker thread (train.worker.ts) and its parent (train-runner.ts). */
import type { ModelBytes } from '../platform/tfjs/artifact-io';
import type { EpochProgress, TrainResult, TrainSpec } from './engine';

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

export type WorkerInbound = { type: 'cancel' };
export type WorkerOutbound =
  | { type: 'progress'; progress: EpochProgress }
  | { type: 'checkpoint'; bytes: Uint8Array; epochsCompleted: number }
  | { type: 'done'; outcome: TrainOutcome }
  | { type: 'error'; name: string; message: string; field?: string };

export interface TrainWorkerData {
  spec: TrainSpec;
  resumeFrom?: Uint8Array;
}

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

