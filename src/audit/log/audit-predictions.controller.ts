import { Readable } from 'node:stream';
import { Controller, Get, NotFoundException, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { Roles } from '../../platform/auth';
import { ValidationProblemException } from '../../platform/http/validation';
import { AuditLogReader, type PredictionFilter } from './audit-log.reader';
import { PageDto, PredictionFilterQuery, PredictionsQueryDto, timeParam } from './audit-log.dto';

const auditPage = (items: string) => objectSchema({ items: S.array(S.object(items)), nextCursor: S.nullable(S.string) });

function filterOf(q: PredictionFilterQuery): PredictionFilter {
  if (q.version !== undefined && q.model === undefined) throw new ValidationProblemException([{ field: 'version', reason: 'needs model' }]);
  return { model: q.model, version: q.version, clientRequestId: q.clientRequestId, from: timeParam(q.from), to: timeParam(q.to) };
}

/**
 * The prediction log for auditors: keyset pages (by seq, newest first unless order=asc), one
 * record by request id, and a streamed NDJSON export in chain order. Each record carries its
 * `prevHash` and `hash` (see chain-content.ts for how to re-verify them offline).
 */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/predictions')
export class AuditPredictionsController {
  constructor(private readonly reader: AuditLogReader) {}

  @Get()
  @ApiOperation({ summary: 'Logged predictions, filtered by model / version / clientRequestId / servedAt, paginated by cursor' })
  @ApiResponse({
    status: 200,
    schema: auditPage(
      'logged calls: {seq, requestId, servedAt, callerKeyId, model, version, route, kind, status, latencyMs, rows, inputs, outputs, …}',
    ),
  })
  async list(@Query() q: PredictionsQueryDto): Promise<PageDto> {
    return this.reader.listPredictions(filterOf(q), {
      cursor: q.cursor === undefined ? undefined : Number(q.cursor),
      limit: q.limit ?? 100,
      order: q.order ?? 'desc',
    });
  }

  @Get('export')
  @ApiOperation({ summary: 'Every matching prediction record as NDJSON in seq order, streamed' })
  @ApiProduces('application/x-ndjson')
  @ApiResponse({
    status: 200,
    description: 'One JSON record per line',
    content: { 'application/x-ndjson': { schema: { type: 'string' } } },
  })
  export(@Query() q: PredictionFilterQuery): StreamableFile {
    const stream = Readable.from(this.reader.exportPredictions(filterOf(q)));
    return new StreamableFile(stream, {
      type: 'application/x-ndjson; charset=utf-8',
      disposition: 'attachment; filename="audit-predictions.ndjson"',
    });
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
    const record = await this.reader.getPrediction(requestId);
    if (!record) throw new NotFoundException(`requestId: no logged prediction '${requestId.slice(0, 200)}'`);
    return record;
  }
}
