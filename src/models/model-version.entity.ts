import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type {
  ModelVersionMetrics,
  ModelVersionPreprocessing,
  ModelVersionRecommender,
  ModelVersionSignature,
  ModelVersionTarget,
} from '../contracts';

export type ModelVersionSource = 'trained' | 'imported';
export type ModelVersionStatus = 'active' | 'archived';

/** Where a version came from: dataset version, training job, hyperparameters, backend, duration, code version. */
export interface ModelLineage {
  /** Imported versions: the uploaded file names and model.json's generatedBy / convertedBy. */
  imported?: {
    files: string[];
    generatedBy?: string | null;
    convertedBy?: string | null;
    dryRunBackend?: string;
    /** ONNX imports: the graph's producer (e.g. `pytorch 1.13.0`) and opset, as the graph states them. */
    producer?: string | null;
    opset?: number | null;
  };
  /** Trained versions: the ONNX export of the TF.js artifact at registration (opset), or why there is none. */
  onnxExport?: { opset?: number; error?: string };
  /** The engine that checked (imports) or can serve the version: `{engine, provider, version}`. */
  engine?: { engine: string; provider: string; version: string };
  datasetVersionId?: string;
  datasetId?: string;
  datasetName?: string;
  datasetVersion?: number;
  datasetContentHash?: string;
  trainingJobId?: string;
  template?: string;
  hyperparameters?: object;
  features?: string[];
  split?: object;
  backend?: string;
  durationMs?: number;
  epochsCompleted?: number;
  bestEpoch?: number;
  resumedFromEpoch?: number;
  samplesPerSecond?: number;
  codeVersion?: string;
}

/** One immutable model version; the model.json and weights live in the artifact store. */
@Entity({ name: 'model_versions' })
export class ModelVersionEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'model_id', type: 'uuid' })
  modelId!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'varchar', length: 16 })
  source!: ModelVersionSource;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: ModelVersionStatus;

  @Column({ type: 'varchar', length: 32 })
  /** 'onnx': an imported ONNX graph; its bytes are `weights_sha256`, `model_json_sha256` a small JSON manifest. */
  format!: 'layers-model' | 'graph-model' | 'onnx';

  @Column({ type: 'varchar', length: 16, nullable: true })
  task!: string | null;

  @Column({ name: 'model_json_sha256', type: 'char', length: 64 })
  modelJsonSha256!: string;

  @Column({ name: 'weights_sha256', type: 'char', length: 64 })
  weightsSha256!: string;

  /** Trained versions: the ONNX graph exported from the TF.js artifact at registration (null: none). */
  @Column({ name: 'onnx_sha256', type: 'char', length: 64, nullable: true })
  onnxSha256!: string | null;

  @Column({ type: 'jsonb' })
  signature!: ModelVersionSignature;

  @Column({ type: 'jsonb', nullable: true })
  preprocessing!: ModelVersionPreprocessing | null;

  /** Target spec (classes, positive class, threshold) of trained classification/regression models. */
  @Column({ type: 'jsonb', nullable: true })
  target!: ModelVersionTarget | null;

  @Column({ type: 'jsonb', nullable: true })
  metrics!: ModelVersionMetrics | null;

  @Column({ type: 'jsonb', default: {} })
  lineage!: ModelLineage;

  /** Recommender versions: feedback kind, interaction columns, catalogue sizes, index artifact (migration 1764870000000). */
  @Column({ type: 'jsonb', nullable: true })
  recommender!: ModelVersionRecommender | null;

  @Column({ name: 'training_job_id', type: 'uuid', nullable: true })
  trainingJobId!: string | null;

  @Column({ name: 'created_by', type: 'varchar', length: 200, nullable: true })
  createdBy!: string | null;

  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt!: Date | null;

  @Column({ name: 'archived_by', type: 'varchar', length: 200, nullable: true })
  archivedBy!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
