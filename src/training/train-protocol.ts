/** Messages and data shared by the training worker thread (train.worker.ts) and its parent (train-runner.ts). */
import type { TrainingConfig } from '../platform/config/kiln-config';
import type { ProductionVersion, PromoteMode, PromotionDecision } from '../contracts';
import type { EpochProgress, ReaderColumn, RecommenderSpec, RecommenderTrainResult, TrainResult, TrainSpec } from '../ml';
import type { ArtifactStoreLocation } from '../platform/artifacts/artifact-store';
import type { ModelBytes } from '../platform/tfjs/artifact-io';
import type { TfBackendChoice } from '../platform/tfjs/tf-runtime';

/** The result without the tf model (as bytes), with the promotion verdict made in the worker (null: promote never). */
export type TabularOutcome = Omit<TrainResult, 'model'> & { kind: 'tabular'; modelBytes: ModelBytes; promotion: PromotionDecision | null };
/** A `recommender` job's result: the serving model as bytes, its index (vocabularies, seen items, popularity), the verdict. */
export type RecommenderOutcome = Omit<RecommenderTrainResult, 'model'> & {
  kind: 'recommender';
  modelBytes: ModelBytes;
  promotion: PromotionDecision | null;
};
export type TrainOutcome = TabularOutcome | RecommenderOutcome;

/** The job's stored spec as the worker gets it: a tabular TrainSpec or, with template `recommender`, a RecommenderSpec (no table). */
export type WorkerSpec = Omit<TrainSpec, 'table'> | (Omit<RecommenderSpec, 'table'> & { template: 'recommender' });

export function isRecommenderSpec(spec: WorkerSpec): spec is Omit<RecommenderSpec, 'table'> & { template: 'recommender' } {
  return (spec as { template?: string }).template === 'recommender';
}

/**
 * What a training job hands the worker thread: references and scalars, no rows. The worker reads
 * the dataset version's Arrow data and the production model from the artifact store itself.
 */
export interface TrainJobInput {
  artifacts: ArtifactStoreLocation;
  /** The configured KILN_TF_BACKEND, initialised by the thread before its first job. */
  tfBackend: TfBackendChoice;
  /** The dataset version's stored Arrow IPC data (its content hash) and columns with their logical types. */
  dataset: { sha256: string; columns: ReaderColumn[] };
  /** The training spec; its table is read from `dataset`. */
  spec: WorkerSpec;
  /** The job's `promote` / `promoteMetric` (promotion-decision.ts); absent: never. */
  promote?: { mode: PromoteMode; metric?: string };
}

export interface RunTrainingOptions {
  /** Size of the process-wide training thread pool (fixed by the first run) and whether to train on this thread instead. */
  training: Pick<TrainingConfig, 'concurrency' | 'inProcess'>;
  resumeFrom?: Buffer;
  /** The current production version, asked for (after training) by an if-better promotion; null: none. */
  productionVersion(): Promise<ProductionVersion | null>;
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
 * which also report the tensors still allocated in the worker after the job (leak check). An
 * if-better job asks for the production version once training is done (`production-request`); the
 * parent answers with `production` (or `production-error`).
 */
export type WorkerInbound =
  | { type: 'start'; data: TrainWorkerData }
  | { type: 'cancel' }
  | { type: 'production'; production: ProductionVersion | null }
  | { type: 'production-error'; message: string };
export type WorkerOutbound =
  | { type: 'progress'; progress: EpochProgress }
  | { type: 'production-request' }
  | { type: 'checkpoint'; bytes: Uint8Array; epochsCompleted: number }
  | { type: 'done'; outcome: TrainOutcome; numTensors?: number }
  | { type: 'error'; name: string; message: string; field?: string; numTensors?: number };

export interface TrainWorkerData extends TrainJobInput {
  resumeFrom?: Uint8Array;
}

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
