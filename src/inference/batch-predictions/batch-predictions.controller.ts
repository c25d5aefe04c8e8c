/**
 * HTTP API of batch predictions: queue a batch prediction, follow it, cancel it. Role `developer` (and
 * `admin`) for every route: jobs read whole datasets and write new dataset versions, which is
 * management-plane work; `predictor` keys stay on the data plane.
 */
import { actorOf } from '../../platform/audit-trail/admin-event-outbox';
import { Audited } from '../../platform/audit-trail/audited.decorator';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import type { AuthenticatedRequest } from '../../platform/auth';
import { Roles } from '../../platform/auth';
import { announceNextPage, JOB_PAGE_HEADERS } from '../../platform/queues/job-list';
import { BatchPredictionListQuery, CreateBatchPredictionDto } from './batch-predictions.dto';
import { BatchPredictionsPort } from './batch-predictions.port';

const BATCH_JOB = objectSchema(
  {
    id: S.uuid,
    status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
    phase: S.nullable(S.string),
    model: S.string,
    requested: S.object('{alias} or {version} as asked'),
    modelVersion: S.nullable(S.integer),
    datasetVersionId: S.uuid,
    outputDatasetId: S.uuid,
    outputDatasetVersionId: S.nullable(S.uuid),
    predictionColumns: S.nullable(S.object('the output columns')),
    chunkSize: S.integer,
    progress: S.object('{rowsProcessed, totalRows}'),
    cancelRequested: S.boolean,
    attempts: S.integer,
    createdBy: S.nullable(S.string),
    createdAt: S.dateTime,
    startedAt: S.nullable(S.dateTime),
    finishedAt: S.nullable(S.dateTime),
  },
  undefined,
  ['modelVersion', 'outputDatasetVersionId', 'predictionColumns'],
);

@ApiTags('batch predictions')
@Roles('developer')
@Controller('api/batch-predictions')
export class BatchPredictionsController {
  constructor(private readonly jobs: BatchPredictionsPort) {}

  @Post()
  @Audited('batch-prediction.started')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Queue a batch prediction: score a ready dataset version with one model version into a new dataset version ' +
      '(input columns + prediction columns). ' +
      'References are checked before queueing',
  })
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    description: 'The same key again returns the job it created (409 if the body differs)',
  })
  @ApiResponse({ status: 202, schema: BATCH_JOB })
  @ApiResponse({ status: 409, description: 'The idempotency key was used with another body' })
  async create(@Body() body: CreateBatchPredictionDto, @Req() req: AuthenticatedRequest, @Headers('idempotency-key') key?: string) {
    return this.jobs.create(body, req.principal?.name ?? null, actorOf(req), key);
  }

  @Get()
  @ApiOperation({
    summary:
      'Batch predictions, newest first, filtered by status / model / input dataset; `limit` per page (default 100). ' +
      'A further page is announced by the `x-next-cursor` and `link: <…>; rel="next"` headers',
  })
  @ApiResponse({ status: 200, schema: S.array(BATCH_JOB), headers: JOB_PAGE_HEADERS })
  async list(@Query() q: BatchPredictionListQuery, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { jobs, nextCursor } = await this.jobs.list(q);
    announceNextPage(req, reply, '/api/batch-predictions', nextCursor);
    return jobs;
  }

  @Get(':id')
  @ApiOperation({ summary: 'A batch prediction: status, phase, resolved model version, progress, output dataset version, error' })
  @ApiResponse({ status: 200, schema: BATCH_JOB })
  async get(@Param('id') id: string) {
    return this.jobs.get(id);
  }

  @Post(':id/cancel')
  @Audited('batch-prediction.cancelled')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Cancel: a queued job at once, a running one before its next chunk; 409 once the output is being ingested or the job is finished',
  })
  @ApiResponse({ status: 202, schema: BATCH_JOB })
  @ApiResponse({ status: 409, description: 'The batch prediction has already finished' })
  async cancel(@Param('id') id: string, @Req() req: AuthenticatedRequest) {
    return this.jobs.cancel(id, actorOf(req));
  }
}
