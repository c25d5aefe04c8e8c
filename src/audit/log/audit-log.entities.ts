/**
 * TypeORM entities of the audit log tables (schema in migrations/1764600000000-audit-log.ts). Rows
 * are written only by AuditLogWriter (raw SQL: chained, partitioned, multi-row); entities serve reads.
 */
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { StoredEvent, StoredPrediction } from './chain-content';

@Entity({ name: 'audit_predictions' })
export class AuditPredictionEntity implements StoredPrediction {
  // primary key (seq, logged_at): migration 1765300000000
  @PrimaryColumn({ type: 'bigint' }) seq!: string;
  @PrimaryColumn({ name: 'logged_at', type: 'timestamptz' }) loggedAt!: Date;
  @Column({ name: 'request_id', type: 'varchar', length: 200 }) requestId!: string;
  @Column({ name: 'client_request_id', type: 'varchar', length: 200, nullable: true }) clientRequestId!: string | null;
  @Column({ name: 'served_at', type: 'timestamptz' }) servedAt!: Date;
  @Column({ name: 'caller_key_id', type: 'varchar', length: 64, nullable: true }) callerKeyId!: string | null;
  @Column({ type: 'varchar', length: 128 }) model!: string;
  @Column({ name: 'model_version', type: 'integer', nullable: true }) modelVersion!: number | null;
  @Column({ type: 'varchar', length: 16 }) route!: string;
  @Column({ type: 'varchar', length: 16 }) kind!: string;
  @Column({ type: 'boolean' }) canary!: boolean;
  @Column({ type: 'smallint' }) status!: number;
  @Column({ name: 'latency_ms', type: 'double precision' }) latencyMs!: number;
  @Column({ type: 'integer' }) rows!: number;
  @Column({ type: 'jsonb', nullable: true }) inputs!: unknown;
  @Column({ name: 'inputs_sha256', type: 'char', length: 64 }) inputsSha256!: string;
  @Column({ type: 'jsonb', nullable: true }) outputs!: unknown;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ name: 'prev_hash', type: 'char', length: 64 }) prevHash!: string;
  @Column({ type: 'char', length: 64 }) hash!: string;
}

@Entity({ name: 'audit_events' })
export class AuditEventEntity implements StoredEvent {
  @PrimaryColumn({ type: 'bigint' }) seq!: string;
  @Column({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @Column({ type: 'timestamptz' }) at!: Date;
  @Column({ name: 'logged_at', type: 'timestamptz' }) loggedAt!: Date;
  @Column({ name: 'request_id', type: 'varchar', length: 200, nullable: true }) requestId!: string | null;
  @Column({ name: 'actor_key_id', type: 'varchar', length: 64, nullable: true }) actorKeyId!: string | null;
  @Column({ type: 'varchar', length: 100 }) action!: string;
  @Column({ type: 'jsonb' }) target!: unknown;
  @Column({ type: 'jsonb', nullable: true }) before!: unknown;
  @Column({ type: 'jsonb', nullable: true }) after!: unknown;
  @Column({ name: 'prev_hash', type: 'char', length: 64 }) prevHash!: string;
  @Column({ type: 'char', length: 64 }) hash!: string;
}

@Entity({ name: 'audit_chain_heads' })
export class AuditChainHeadEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 }) chain!: 'predictions' | 'events';
  @Column({ type: 'bigint' }) seq!: string;
  @Column({ type: 'char', length: 64 }) hash!: string;
  /** The chain's newest logged_at (null while it is empty), moved with seq and hash (migration 1765300000000). */
  @Column({ name: 'logged_at', type: 'timestamptz', nullable: true }) loggedAt!: Date | null;
}
