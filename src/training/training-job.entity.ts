import { Column, Entity } from 'typeorm';
import { CancellableJobColumns, FINAL_JOB_STATUSES, type QueuedJobStatus } from '../platform/queues/queued-job-row';
import type { EpochProgress } from '../ml';
import type { ModelVersionMetrics, PromotionDecision } from '../contracts';

export type TrainingJobStatus = QueuedJobStatus;
export const FINAL_STATUSES: readonly TrainingJobStatus[] = FINAL_JOB_STATUSES;

/** The validated request, stored on the row; the queue payload carries only the job id. */
export interface TrainingJobSpec {
  /** Every template but recommender (which names its `columns` instead). */
  target?: string;
  task?: 'binary' | 'multiclass' | 'regression';
  positiveClass?: string;
  features?: string[];
  template?: 'mlp' | 'linear' | 'recommender';
  /** recommender template: the interaction columns. */
  columns?: { user: string; item: string; rating?: string; timestamp?: string };
  hyperparameters?: Record<string, unknown>;
  split?: { validation?: number; test?: number; stratify?: boolean };
  promote?: 'never' | 'always' | 'if-better';
  promoteMetric?: string;
}

/** id, status, attempts, cancel_requested, error_code, error and the timestamps: CancellableJobColumns. */
@Entity({ name: 'training_jobs' })
export class TrainingJobEntity extends CancellableJobColumns {
  @Column({ name: 'dataset_version_id', type: 'uuid' })
  datasetVersionId!: string;

  @Column({ name: 'model_name', type: 'varchar', length: 128 })
  modelName!: string;

  @Column({ type: 'jsonb' })
  spec!: TrainingJobSpec;

  /** The last epoch's progress. */
  @Column({ type: 'jsonb', nullable: true })
  progress!: EpochProgress | null;

  @Column({ type: 'jsonb', default: [] })
  history!: EpochProgress[];

  /** The registered version's metrics (the same object as its model version's), once succeeded. */
  @Column({ type: 'jsonb', nullable: true })
  metrics!: ModelVersionMetrics | null;

  @Column({ name: 'model_version_id', type: 'uuid', nullable: true })
  modelVersionId!: string | null;

  @Column({ name: 'checkpoint_sha256', type: 'char', length: 64, nullable: true })
  checkpointSha256!: string | null;

  @Column({ name: 'checkpoint_epoch', type: 'integer', nullable: true })
  checkpointEpoch!: number | null;

  /** promote always/if-better: the decision and comparison {metric, candidate, production, basis, promoted, …}. */
  @Column({ type: 'jsonb', nullable: true })
  promotion!: PromotionDecision | null;

  /** Artifact (JSON) of the evaluated test split: {rowIndices, yTrue, yPred, probabilities?}; set before the job succeeds. */
  @Column({ name: 'test_predictions_sha256', type: 'char', length: 64, nullable: true })
  testPredictionsSha256!: string | null;

  @Column({ name: 'created_by', type: 'varchar', length: 200, nullable: true })
  createdBy!: string | null;
}
