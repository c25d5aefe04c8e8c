import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditChainHeadEntity, AuditEventEntity, AuditPredictionEntity } from './audit-log.entities';
import { AuditLogReader } from './audit-log.reader';
import { AuditLogWriter } from './audit-log.writer';
import { ChainVerifier } from './chain-verifier.service';
import { CheckpointKey } from './checkpoint-key';
import { AuditCheckpoints } from './checkpoints.service';
import { RetentionService } from './retention.service';

/**
 * The prediction log and admin-event chain: the writer and retention (used by the `audit` queue
 * worker), verification, signed checkpoints and the auditor query APIs (`/api/audit/predictions`,
 * `/events`, `/verify`, `/checkpoints`).
 */
@Module({
  imports: [TypeOrmModule.forFeature([AuditPredictionEntity, AuditEventEntity, AuditChainHeadEntity])],
  providers: [AuditLogWriter, RetentionService, ChainVerifier, AuditLogReader, CheckpointKey, AuditCheckpoints],
  exports: [AuditLogWriter, RetentionService, ChainVerifier, AuditLogReader, AuditCheckpoints],
})
export class AuditLogModule {}
