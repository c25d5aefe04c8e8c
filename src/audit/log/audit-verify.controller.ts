import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { Roles } from '../../platform/auth';
import type { ChainName } from './audit-log.writer';
import type { ChainVerificationReport } from './chain-verifier.service';
import { VerifyQueryDto } from './audit-log.dto';
import { AuditPort } from '../audit.port';

const VERIFY_REPORT = objectSchema(
  {
    chain: { type: 'string', enum: ['predictions', 'events'] },
    ok: S.boolean,
    checked: S.integer,
    fromSeq: S.integer,
    toSeq: S.integer,
    anchoredAt: S.object('{seq, prevHash, by: retention|range, eventId?}: where verification started when not at genesis'),
    firstBroken: S.object('present when ok is false: the first record that does not verify and why'),
  },
  'The report of one chain',
  ['anchoredAt', 'firstBroken'],
);

/** Without `chain`: every chain, each reported. */
export interface AllChainsReport {
  ok: boolean;
  chains: Record<ChainName, ChainVerificationReport>;
}

const CHAINS: ChainName[] = ['predictions', 'events'];

const VERIFY_ANSWER = {
  oneOf: [
    VERIFY_REPORT,
    objectSchema(
      {
        ok: { ...S.boolean, description: 'true when every chain verifies (and matches its newest checkpoint)' },
        chains: objectSchema({ predictions: VERIFY_REPORT, events: VERIFY_REPORT }, "each chain's report"),
      },
      'Without chain: every chain verified, each reported',
    ),
  ],
};

/** Recomputes a hash chain from the stored rows and reports the first break. */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/verify')
export class AuditVerifyController {
  constructor(private readonly audit: AuditPort) {}

  @Get()
  @ApiOperation({
    summary: 'Verify every hash chain (predictions and admin events), or the one asked for',
    description:
      'Without chain: {ok, chains: {predictions: report, events: report}}, ok when every chain verifies; ' +
      "chain=predictions|events: that chain's report alone. " +
      'from / to: a seq (inclusive) or an ISO 8601 time on logged_at (from inclusive, to exclusive); default the whole chain. ' +
      'Answers {ok: true, checked} or {ok: false, checked, firstBroken: {seq, requestId | eventId, reason}}; ' +
      'rows outside 1..head, gaps and duplicate seqs are breaks too (out_of_range, seq_gap, duplicate_seq). ' +
      'checkpoint: the chain against the newest signed checkpoint (GET /api/audit/checkpoints), when one exists. ' +
      'When retention dropped the oldest partitions, verification starts at the first remaining record, anchored on the hash ' +
      'the audit.retention-expired event recorded (anchoredAt).',
  })
  @ApiResponse({ status: 200, schema: VERIFY_ANSWER })
  async verify(@Query() q: VerifyQueryDto): Promise<ChainVerificationReport | AllChainsReport> {
    if (q.chain) return this.audit.verify(q.chain, q.from, q.to);
    const reports = await Promise.all(CHAINS.map((chain) => this.audit.verify(chain, q.from, q.to)));
    return {
      ok: reports.every((r) => r.ok),
      chains: Object.fromEntries(reports.map((r) => [r.chain, r])) as AllChainsReport['chains'],
    };
  }
}
