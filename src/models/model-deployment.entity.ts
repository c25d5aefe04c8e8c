import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A stored deployment route, in the order given: either a fixed version (number and id, both
 * immutable) or an alias (followed wherever it moves). `weight` is relative to the other routes.
 */
export type StoredRoute = { version: number; versionId: string; weight: number } | { alias: string; weight: number };

/** A model's deployment: weighted routes for its traffic, and an optional shadow version (one row per model). */
@Entity({ name: 'model_deployments' })
export class ModelDeploymentEntity {
  @PrimaryColumn({ name: 'model_id', type: 'uuid' })
  modelId!: string;

  @Column({ type: 'jsonb' })
  routes!: StoredRoute[];

  @Column({ name: 'shadow_version_id', type: 'uuid', nullable: true })
  shadowVersionId!: string | null;

  @Column({ name: 'updated_by', type: 'varchar', length: 200, nullable: true })
  updatedBy!: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
