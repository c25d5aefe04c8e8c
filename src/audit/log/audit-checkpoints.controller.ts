import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { actorOf } from '../../platform/audit-trail/admin-event-outbox';
import { Audited } from '../../platform/audit-trail/audited.decorator';
import { Roles, type AuthenticatedRequest } from '../../platform/auth';
import type { PublishedKey } from './checkpoint-key';
import { AuditCheckpoints, type SignedCheckpoint } from './checkpoints.service';

const PUBLISHED_KEY = objectSchema({ algorithm: S.string, keyId: S.string, publicKeyPem: S.string });

const LISTED = 50;

/** Signed checkpoints of the chain heads and the public key that verifies them. */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/checkpoints')
export class AuditCheckpointsController {
  constructor(private readonly checkpoints: AuditCheckpoints) {}

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
  async list(): Promise<{ publicKey: PublishedKey; latest: Record<string, SignedCheckpoint | null>; checkpoints: SignedCheckpoint[] }> {
    const [predictions, events, checkpoints] = await Promise.all([
      this.checkpoints.newest('predictions'),
      this.checkpoints.newest('events'),
      this.checkpoints.list(LISTED),
    ]);
    return { publicKey: this.checkpoints.publicKey(), latest: { predictions, events }, checkpoints };
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
  async create(@Req() req: AuthenticatedRequest): Promise<{ publicKey: PublishedKey; checkpoints: SignedCheckpoint[] }> {
    return { publicKey: this.checkpoints.publicKey(), checkpoints: await this.checkpoints.create(false, actorOf(req)) };
  }
}
