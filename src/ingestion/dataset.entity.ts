import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'datasets' })
export class DatasetEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** Unique. */
  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  /** Last version number handed out (versions are numbered 1, 2, 3… per dataset). */
  @Column({ name: 'version_count', type: 'integer', default: 0 })
  versionCount!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
