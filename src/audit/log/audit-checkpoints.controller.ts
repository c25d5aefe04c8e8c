import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { actorOf } from '../../platform/audit-trail/admin-event-outbox';
import { Audited } from '../../platform/audit-trail/audited.decorator';
import { Roles, type AuthenticatedRequest } from '../../platform/auth';
import type { PublishedKey } from './checkpoint-key';
import { AuditPort, type CheckpointListing } from '../audit.port';
import type { SignedCheckpoint } from './checkpoints.service';

const PUBLISHED_KEY = objectSchema({ algorithm: S.string, keyId: S.string, publicKeyPem: S.string });

/** Signed checkpoints of the chain heads and the public key that verifies them. */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/checkpoints')
export class AuditCheckpointsController {
  constructor(private readonly audit: AuditPort) {}

  @Get()
  @ApiOperation({
    summary: 'The public key and the newest signed checkpoints (newest first)',
    description:
      'Each checkpoint signs {type, version, chain, seq, hash, at, keyId} (RFC 8785 canonical JSON, exactly `statement`) ' +
      'with Ed25519; verify with crypto.verify(null, Buffer.from(statement), publicKeyPem, Buffer.from(signature, "base64")). ' +
      '`latest` is the newest checkpoint of each chain; keep copies outside Kiln to detect deleted checkpoints.',
  })
  @ApiResponse({
    status: 200,
    schema: objectSchema({
      publicKey: PUBLISHED_KEY,
      latest: { type: 'object', additionalProperties: S.nullable(S.object('signed checkpoint')) },
      checkpoints: S.array(S.object('signed checkpoint: chain, seq, hash, signedAt, signature')),
    }),
  })
  list(): Promise<CheckpointListing> {
    return this.audit.checkpoints();
  }

  @Post()
  @Roles('admin')
  @HttpCode(201)
  @Audited('audit.checkpoint-created')
  @ApiOperation({ summary: 'Sign the current head of each chain now (admin)' })
  @ApiResponse({
    status: 201,
    schema: objectSchema({
      publicKey: PUBLISHED_KEY,
      checkpoints: S.array(S.object('signed checkpoint: chain, seq, hash, signedAt, signature')),
    }),
  })
  create(@Req() req: AuthenticatedRequest): Promise<{ publicKey: PublishedKey; checkpoints: SignedCheckpoint[] }> {
    return this.audit.createCheckpoints(actorOf(req));
  }
}
