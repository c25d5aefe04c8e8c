import { Controller, Get, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { Roles } from '../../platform/auth';
import { ArtifactStore, transientFileAnswer } from '../../platform/artifacts';
import { PageDto, PredictionFilterQuery, PredictionsQueryDto } from './audit-log.dto';
import { AuditPort } from '../audit.port';

const auditPage = (items: string) => objectSchema({ items: S.array(S.object(items)), nextCursor: S.nullable(S.string) });

/**
 * The prediction log for auditors: keyset pages (by seq, newest first unless order=asc), one
 * record by request id, and an NDJSON export in chain order (a file in the artifact store, streamed). Each record carries its
 * `prevHash` and `hash` (see chain-content.ts for how to re-verify them offline).
 */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/predictions')
export class AuditPredictionsController {
  constructor(
    private readonly audit: AuditPort,
    private readonly artifacts: ArtifactStore,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Logged predictions, filtered by model / version / clientRequestId / servedAt, paginated by cursor' })
  @ApiResponse({
    status: 200,
    schema: auditPage(
      'logged calls: {seq, requestId, servedAt, callerKeyId, model, version, route, kind, status, latencyMs, rows, inputs, outputs, …}',
    ),
  })
  async list(@Query() q: PredictionsQueryDto): Promise<PageDto> {
    return this.audit.listPredictions(q);
  }

  @Get('export')
  @ApiOperation({ summary: 'Every matching prediction record as NDJSON in seq order, streamed' })
  @ApiProduces('application/x-ndjson')
  @ApiResponse({
    status: 200,
    description: 'One JSON record per line',
    content: { 'application/x-ndjson': { schema: { type: 'string' } } },
  })
  async export(@Query() q: PredictionFilterQuery): Promise<StreamableFile> {
    // Written to the artifact store by the audit side; only the reference crosses the transport.
    return transientFileAnswer(this.artifacts, await this.audit.exportPredictions(q));
  }

  @Get(':requestId')
  @ApiOperation({ summary: 'One logged prediction by the request id its response carried (x-request-id header)' })
  @ApiResponse({
    status: 200,
    schema: S.object(
      'The logged call: {seq, requestId, servedAt, callerKeyId, model, version, route, status, latencyMs, inputs, outputs, hash, …}',
    ),
  })
  async get(@Param('requestId') requestId: string) {
    return this.audit.getPrediction(requestId);
  }
}
