import { actorOf } from '../platform/audit-trail/admin-event-outbox';
import { Audited } from '../platform/audit-trail/audited.decorator';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../platform/auth';
import { AcceptsStreamToken, Roles } from '../platform/auth';
import { announceNextPage, JOB_PAGE_HEADERS } from '../platform/queues/job-list';
import {
  CreateTrainingJobDto,
  QueuedTrainingJobDto,
  TestPredictionsDto,
  TrainingJobDto,
  TrainingJobListQuery,
  TrainingJobSummaryDto,
} from './training-jobs.dto';
import { TrainingJobsPort, type TrainingJobProgress } from './training-jobs.port';
import { TrainingJobEvents } from './training-job-events';

@ApiTags('training jobs')
@Roles('developer')
@Controller('api/training-jobs')
export class TrainingJobsController {
  constructor(
    private readonly jobs: TrainingJobsPort,
    private readonly events: TrainingJobEvents,
  ) {}

  @Post()
  @Audited('training.started')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a training job on a ready dataset version (references checked before queueing)' })
  @ApiResponse({ status: 202, type: QueuedTrainingJobDto })
  async create(@Body() body: CreateTrainingJobDto, @Req() req: AuthenticatedRequest): Promise<{ id: string; status: string }> {
    return this.jobs.create(body, req.principal?.name ?? null, actorOf(req));
  }

  @Get()
  @ApiOperation({
    summary:
      'Training jobs, newest first, filtered by status / model / dataset; `limit` per page (default 100). The epoch history is on ' +
      'the job itself (GET …/{id}). A further page is announced by the `x-next-cursor` and `link: <…>; rel="next"` headers',
  })
  @ApiResponse({
    status: 200,
    description: 'The page (an array of jobs)',
    type: [TrainingJobSummaryDto],
    headers: JOB_PAGE_HEADERS,
  })
  async list(@Query() q: TrainingJobListQuery, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { jobs, nextCursor } = await this.jobs.list(q);
    announceNextPage(req, reply, '/api/training-jobs', nextCursor);
    return jobs;
  }

  @Get(':id')
  @ApiOperation({
    summary:
      'A training job: status, progress, epoch history, metrics, model version, error; `resolved`: the configuration it runs ' +
      'with (defaults filled in); `earlyStopping`: patience, bestEpoch, epochsCompleted, stoppedEarly',
  })
  @ApiResponse({ status: 200, type: TrainingJobDto })
  async get(@Param('id') id: string) {
    return this.jobs.get(id);
  }

  @Get(':id/events')
  @AcceptsStreamToken()
  @ApiProduces('text/event-stream')
  @ApiResponse({
    status: 200,
    description: 'text/event-stream; each `data:` is JSON (the job for progress and the final event)',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiOperation({
    summary:
      'Server-sent events: while queued, `queued` {position, running} whenever the position changes (1 = next to start); ' +
      '`progress` per epoch (id = epoch), then one `succeeded`|`failed`|`cancelled` event with the job; then the stream ends. ' +
      'A `heartbeat` {status, at} comes after every 5 s without another event',
  })
  async streamEvents(
    @Param('id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    let last: TrainingJobProgress = await this.jobs.progress(id); // 404 as problem+json before the stream starts
    let fresh = true;
    reply.hijack();
    // One `progress` read per poll (the job and, while queued, its place): the position is the one read with the job.
    await this.events.stream(
      reply.raw,
      {
        read: async () => {
          if (!fresh) last = await this.jobs.progress(id);
          fresh = false;
          return last.job;
        },
        render: (job) => Promise.resolve(job),
        position: () => Promise.resolve(last.position ?? { position: 0, running: 0 }),
      },
      lastEventId,
    );
  }

  @Get(':id/test-predictions')
  @ApiOperation({
    summary:
      'The held-out test split as evaluated: {rowIndices, yTrue, yPred, probabilities?} (row indices into the dataset version; ' +
      'metrics.test is computed from exactly these)',
  })
  @ApiResponse({ status: 200, type: TestPredictionsDto })
  async testPredictions(@Param('id') id: string) {
    return this.jobs.testPredictions(id);
  }

  @Post(':id/cancel')
  @Audited('training.cancelled')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel: a queued job at once, a running one at its next batch; nothing is registered' })
  @ApiResponse({ status: 202, type: TrainingJobDto })
  @ApiResponse({ status: 409, description: 'The job has already finished' })
  async cancel(@Param('id') id: string, @Req() req: AuthenticatedRequest) {
    return this.jobs.cancel(id, actorOf(req));
  }
}
