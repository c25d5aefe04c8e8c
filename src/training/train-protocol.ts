/** Messages and data shared by the training worker thread (train.worker.ts) and its parent (train-runner.ts). */
import type { ModelBytes } from '../platform/tfjs/artifact-io';
import type { EpochProgress, TrainResult, TrainSpec } from './engine';

export type TrainOutcome = Omit<TrainResult, 'model'> & { modelBytes: ModelBytes };

export interface RunTrainingOptions {
  resumeFrom?: Buffer;
  onProgress(p: EpochProgress): Promise<void>;
  /** Persist the encoded checkpoint; training waits for it. */
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

export type WorkerInbound = { type: 'cancel' } | { type: 'checkpoint-saved' };
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

