import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedRequest } from '../platform/auth';
import { Roles } from '../platform/auth';
import { CreateTrainingJobDto } from './training-jobs.dto';
import { TrainingJobsService } from './training-jobs.service';
import type { TrainingJobEntity } from './training-job.entity';

@ApiTags('training jobs')
@Roles('developer')
@Controller('api/training-jobs')
export class TrainingJobsController {
  constructor(private readonly jobs: TrainingJobsService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a training job on a ready dataset version (references checked before queueing)' })
  async create(@Body() body: CreateTrainingJobDto, @Req() req: AuthenticatedRequest): Promise<{ id: string; status: string }> {
    const job = await this.jobs.create(body, req.principal?.name ?? null);
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

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel: a queued job at once, a running one at its next batch; nothing is registered' })
  async cancel(@Param('id') id: string) {
    return this.dto(await this.jobs.cancel(id));
  }

  private async dto(j: TrainingJobEntity) {
    return {
      id: j.id,
      status: j.status,
      datasetVersionId: j.datasetVersionId,
      modelName: j.modelName,
      spec: j.spec,
      progress: j.progress,
      history: j.history,
      metrics: j.metrics,
      modelVersion: await this.jobs.modelVersionOf(j),
      cancelRequested: j.cancelRequested,
      /** The last epoch whose checkpoint is durable in the artifact store (a retry resumes after it). */
      checkpointEpoch: j.checkpointEpoch,
      attempts: j.attempts,
      ...(j.error ? { error: { code: j.errorCode, message: j.error } } : {}),
      createdBy: j.createdBy,
      createdAt: j.createdAt.toISOString(),
      startedAt: j.startedAt?.toISOString() ?? null,
      finishedAt: j.finishedAt?.toISOString() ?? null,
    };
  }
}
