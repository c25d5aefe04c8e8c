import { actorOf } from '../platform/audit-trail/admin-event-outbox';
import { Audited } from '../platform/audit-trail/audited.decorator';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../platform/auth';
import { Roles } from '../platform/auth';
import { CreateTrainingJobDto } from './training-jobs.dto';
import { TrainingJobsService } from './training-jobs.service';
import { TrainingJobEvents } from './training-job-events';
import type { TrainingJobEntity } from './training-job.entity';

@ApiTags('training jobs')
@Roles('developer')
@Controller('api/training-jobs')
export class TrainingJobsController {
  constructor(
    private readonly jobs: TrainingJobsService,
    private readonly events: TrainingJobEvents,
  ) {}

  @Post()
  @Audited('training.started')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a training job on a ready dataset version (references checked before queueing)' })
  async create(@Body() body: CreateTrainingJobDto, @Req() req: AuthenticatedRequest): Promise<{ id: string; status: string }> {
    const job = await this.jobs.create(body, req.principal?.name ?? null, actorOf(req));
    return { id: job.id, status: job.status };
  }

  @Get()
  @ApiOperation({ summary: 'Training jobs, newest first (at most 100)' })
  async list() {
    const jobs = await this.jobs.list();
    return Promise.all(jobs.map((j) => this.dto(j)));
  }

  @Get(':id')
  @ApiOperation({ summary: 'A training job: status, progress, metrics, model version, error' })
  async get(@Param('id') id: string) {
    return this.dto(await this.jobs.get(id));
  }

  @Get(':id/events')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Server-sent events: `progress` per epoch (id = epoch), then one `succeeded`|`failed`|`cancelled` event with the job; ' +
      'then the stream ends',
  })
  async streamEvents(
    @Param('id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.jobs.get(id); // 404 as problem+json before the stream starts
    reply.hijack();
    await this.events.stream(reply.raw, { read: () => this.jobs.get(id), render: (j) => this.dto(j) }, lastEventId);
  }

  @Get(':id/test-predictions')
  @ApiOperation({
    summary:
      'The held-out test split as evaluated: {rowIndices, yTrue, yPred, probabilities?} (row indices into the dataset version; ' +
      'metrics.test is computed from exactly these)',
  })
  async testPredictions(@Param('id') id: string) {
    return this.jobs.testPredictions(id);
  }

  @Post(':id/cancel')
  @Audited('training.cancelled')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel: a queued job at once, a running one at its next batch; nothing is registered' })
  async cancel(@Param('id') id: string, @Req() req: AuthenticatedRequest) {
    return this.dto(await this.jobs.cancel(id, actorOf(req)));
  }

  private dto(j: TrainingJobEntity) {
    return this.jobs.toDto(j);
  }
}
