/**
 * `GET /api/models/{name}/monitoring` (the numbers, roles auditor/developer) and `GET /monitoring/{name}`
 * (a redirect to the web console's monitoring view, which draws them).
 */
import { Controller, Get, Header, NotFoundException, Param, Query, Redirect } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { MODEL_NAME_PATTERN } from '../../models';
import { Public, Roles } from '../../platform/auth';
import { AuditPort } from '../audit.port';

@ApiTags('audit: feedback and monitoring')
@Controller()
export class MonitoringController {
  constructor(private readonly audit: AuditPort) {}

  @Get('api/models/:name/monitoring')
  @Roles('auditor', 'developer')
  @ApiOperation({
    summary: 'Live traffic, latency, prediction distribution, quality on labelled predictions and the latest drift report',
    description:
      'Per model version over a window (default 1h) of live calls by served time; latency per minute; the latest drift report or null.',
  })
  @ApiQuery({ name: 'window', required: false, description: '15m, 1h, 24h (any <n>m|h|d up to 31 days); not with from/to' })
  @ApiQuery({ name: 'from', required: false, description: 'ISO 8601 start (with optional to, default now)' })
  @ApiQuery({ name: 'to', required: false })
  @ApiResponse({
    status: 200,
    schema: objectSchema({
      model: S.string,
      window: S.object('{from, to, seconds}'),
      totals: S.object('{requests, ratePerSecond, errors, errorRate}'),
      versions: S.array(S.object('per version: requests, latencyMs {p50, p95, p99}, predictions, quality')),
      latencyOverTime: S.array(S.object('{minute, count, p50, p99}')),
      labelledTruncated: S.boolean,
      drift: S.nullable(S.object('latest drift report')),
    }),
  })
  async document(@Param('name') name: string, @Query('window') window?: string, @Query('from') from?: string, @Query('to') to?: string) {
    return this.audit.monitoring(name, { window, from, to });
  }

  @Get('monitoring/:name')
  @Public()
  @Redirect()
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: "Monitoring page: redirects to the web console's monitoring view (`/#/monitoring/{name}`)" })
  @ApiResponse({ status: 302, description: 'Location: /#/monitoring/{name}' })
  page(@Param('name') name: string): { url: string; statusCode: number } {
    if (!MODEL_NAME_PATTERN.test(name)) throw new NotFoundException(`model ${name.slice(0, 60)} not found`);
    return { url: `/#/monitoring/${encodeURIComponent(name)}`, statusCode: 302 };
  }
}
