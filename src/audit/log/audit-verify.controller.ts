import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../platform/auth';
import type { ChainVerificationReport } from './chain-verifier.service';
import { VerifyQueryDto } from './audit-log.dto';
import { AuditPort } from '../audit.port';

/** Recomputes a hash chain from the stored rows and reports the first break. */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/verify')
export class AuditVerifyController {
  constructor(private readonly audit: AuditPort) {}

  @Get()
  @ApiOperation({
    summary: 'Verify the predictions or events hash chain',
    description:
      'from / to: a seq (inclusive) or an ISO 8601 time on logged_at (from inclusive, to exclusive); default the whole chain. ' +
      'Answers {ok: true, checked} or {ok: false, checked, firstBroken: {seq, requestId | eventId, reason}}; ' +
      'rows outside 1..head, gaps and duplicate seqs are breaks too (out_of_range, seq_gap, duplicate_seq). ' +
      'checkpoint: the chain against the newest signed checkpoint (GET /api/audit/checkpoints), when one exists. ' +
      'When retention dropped the oldest partitions, verification starts at the first remaining record, anchored on the hash ' +
      'the audit.retention-expired event recorded (anchoredAt).',
  })
  async verify(@Query() q: VerifyQueryDto): Promise<ChainVerificationReport> {
    return this.audit.verify(q.chain ?? 'predictions', q.from, q.to);
  }
}
