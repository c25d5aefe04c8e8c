import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ServingEnginePreference } from './deployment-rules';

/** A model's serving (dynamic batching) settings, as effective values; no row = the defaults. */
@Entity({ name: 'model_serving_settings' })
export class ModelServingSettingsEntity {
  @PrimaryColumn({ name: 'model_id', type: 'uuid' })
  modelId!: string;

  @Column({ name: 'max_batch_size', type: 'integer' })
  maxBatchSize!: number;

  @Column({ name: 'max_queue_delay_ms', type: 'integer' })
  maxQueueDelayMs!: number;

  @Column({ name: 'max_queue_size', type: 'integer' })
  maxQueueSize!: number;

  @Column({ name: 'timeout_ms', type: 'integer' })
  timeoutMs!: number;

  @Column({ type: 'varchar', length: 16, default: 'tfjs' })
  engine!: ServingEnginePreference;

  @Column({ name: 'updated_by', type: 'varchar', length: 200, nullable: true })
  updatedBy!: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
