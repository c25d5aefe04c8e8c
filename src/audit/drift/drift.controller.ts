import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import type { FastifyReply } from 'fastify';
import { actorOf } from '../../platform/audit-trail/admin-event-outbox';
import { Audited } from '../../platform/audit-trail/audited.decorator';
import { Roles, type AuthenticatedRequest } from '../../platform/auth';
import type { AuditDriftCheckResult } from '../../contracts';
import type { DriftReportView, DriftSettingsView } from './drift-report';
import { DriftHistoryQuery, PutDriftSettingsDto } from './drift.dto';
import { MAX_CHECK_WAIT_SECONDS } from './drift.service';
import { pollUntil } from '../../platform/util/poll';
import { AuditPort } from '../audit.port';

const DRIFT_SETTINGS = objectSchema({
  model: S.string,
  onDrift: S.nullable(S.object('closed-loop settings (retrain on drift)')),
  updatedBy: S.nullable(S.string),
  updatedAt: S.nullable(S.dateTime),
});

/** Seconds from an RFC 7240 `Prefer: wait=N` header (capped), or 0 when absent. */
function preferredWaitSeconds(prefer: string | undefined): number {
  const m = /(?:^|[,;\s])wait\s*=\s*(\d+)/i.exec(prefer ?? '');
  return m ? Math.min(Number(m[1]), MAX_CHECK_WAIT_SECONDS) : 0;
}

/** Drift reports of a model, an on-demand check, and the per-model closed-loop settings. */
@ApiTags('drift')
@Controller('api/models/:name')
export class DriftController {
  constructor(private readonly audit: AuditPort) {}

  @Get('drift')
  @Roles('auditor', 'developer')
  @ApiOperation({
    summary: "The model's newest drift report and its history (newest first)",
    description:
      "Each report compares the newest window of the served version's live record-API traffic " +
      'with the profile of its training dataset version: ' +
      'per feature the test, threshold, score (p-value for KS / chi-square), PSI and verdict; ' +
      'the dataset-level verdict (≥ 50% of the features drifted); ' +
      'the predictions vs. the training target; and what the closed loop did. ' +
      'Recommenders: /recommend requests per user vs training activity (the verdict), items served vs training popularity, ' +
      'and the share of unknown users (report.recommender).',
  })
  @ApiResponse({
    status: 200,
    schema: objectSchema({
      model: S.string,
      latest: S.nullable(S.object('drift report: per-feature test, statistic, threshold, drift; dataset drift verdict')),
      history: S.array(S.object('drift report')),
    }),
  })
  async reports(
    @Param('name') name: string,
    @Query() q: DriftHistoryQuery,
  ): Promise<{ model: string; latest: DriftReportView | null; history: DriftReportView[] }> {
    return this.audit.driftReports(name, q.limit ?? 20);
  }

  @Post('drift/check')
  @Roles('developer')
  @Audited('drift-check.requested')
  @HttpCode(202)
  @ApiOperation({ summary: 'Run a drift check now (queued on the audit queue like the scheduled ones)' })
  @ApiHeader({
    name: 'prefer',
    required: false,
    description: `wait=N (N ≤ ${MAX_CHECK_WAIT_SECONDS}): answer 200 with the outcome when the check ends in time (202 otherwise)`,
  })
  @ApiResponse({
    status: 202,
    description: 'Queued',
    schema: objectSchema({ jobId: S.string, status: { type: 'string', enum: ['queued'] } }),
  })
  @ApiResponse({
    status: 200,
    description: 'With Prefer: wait=N, the outcome',
    schema: objectSchema(
      {
        jobId: S.string,
        model: S.string,
        reportId: S.nullable(S.string),
        drift: S.nullable(S.boolean),
        skipped: S.string,
        report: S.nullable(S.object('the drift report')),
      },
      undefined,
      ['skipped'],
    ),
  })
  async check(
    @Param('name') name: string,
    @Req() req: AuthenticatedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('prefer') prefer?: string,
  ): Promise<{ jobId: string; status: 'queued' } | (AuditDriftCheckResult & { jobId: string; report: DriftReportView | null })> {
    const waitSeconds = preferredWaitSeconds(prefer);
    const jobId = await this.audit.driftCheck(name, actorOf(req));
    if (!waitSeconds) return { jobId, status: 'queued' };
    void reply.header('preference-applied', `wait=${waitSeconds}`);
    // The gateway polls the audit service (no transport call held open for up to a minute).
    const outcome = await pollUntil(() => this.audit.driftCheckOutcome(jobId), waitSeconds * 1000, 250);
    if (!outcome) return { jobId, status: 'queued' };
    void reply.status(200);
    return { jobId, ...outcome };
  }

  @Get('drift-settings')
  @Roles('developer')
  @ApiOperation({ summary: "The model's drift settings (closed loop); onDrift null until set" })
  @ApiResponse({ status: 200, schema: DRIFT_SETTINGS })
  async getSettings(@Param('name') name: string): Promise<DriftSettingsView> {
    return this.audit.driftSettings(name);
  }

  @Put('drift-settings')
  @Roles('developer')
  @Audited('drift-settings.changed')
  @ApiOperation({
    summary:
      "Set the closed loop: on a drift verdict, queue a training job like the served version's on the newest ready version of a dataset",
    description:
      'At most one retrain per dataset version (a dataset with no newer version than the served one was trained on is not retrained on). ' +
      'onDrift null turns it off.',
  })
  @ApiResponse({ status: 200, schema: DRIFT_SETTINGS })
  async putSettings(
    @Param('name') name: string,
    @Body() body: PutDriftSettingsDto,
    @Req() req: AuthenticatedRequest,
  ): Promise<DriftSettingsView> {
    return this.audit.putDriftSettings(name, body.onDrift, req.principal?.name ?? null, actorOf(req));
  }
}
