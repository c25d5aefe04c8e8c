import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { ApiRole } from './api-roles';

@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** Public, non-secret part of the key, used to look it up (`kiln_<keyId>_<secret>`). */
  @Column({ name: 'key_id', type: 'varchar', length: 32, unique: true })
  keyId!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: ApiRole;

  /** SHA-256 of the whole key (hex). Keys are 192-bit random, so a fast hash is enough; no salt needed. */
  @Column({ name: 'secret_hash', type: 'char', length: 64, select: false })
  secretHash!: string;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
