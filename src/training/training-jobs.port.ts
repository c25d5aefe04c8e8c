import { Injectable } from '@nestjs/common';
import type { AdminActor } from '../platform/audit-trail/admin-event-outbox';
import type { PortOf } from '../platform/rpc/port';
import type { CreateTrainingJobDto, TrainingJobListQuery } from './training-jobs.dto';
import type { TestPredictions } from '../ml';
import { TrainingJobsService } from './training-jobs.service';

/** A job as GET /api/training-jobs/:id shows it. */
export type TrainingJobView = Awaited<ReturnType<TrainingJobsService['toDto']>>;
/** A job as the list shows it. */
export type TrainingJobSummary = Awaited<ReturnType<TrainingJobsService['toSummaryDto']>>;
/** What the progress stream (SSE) reads each poll: the job, and its place in the queue while queued. */
export interface TrainingJobProgress {
  job: TrainingJobView;
  position: { position: number; running: number } | null;
}

/**
 * The training-job use cases the gateway serves (DI token; patterns `RpcPatterns.training`): the local
 * `LocalTrainingJobs` with the training role, else the training app over KILN_TRANSPORT. The progress
 * stream (SSE) is written by the gateway from `progress` polls, so it works split too.
 */
export abstract class TrainingJobsPort implements PortOf<'training'> {
  abstract create(body: CreateTrainingJobDto, createdBy: string | null, actor: AdminActor): Promise<{ id: string; status: string }>;
  abstract list(query: TrainingJobListQuery): Promise<{ jobs: TrainingJobSummary[]; nextCursor: string | null }>;
  abstract get(id: string): Promise<TrainingJobView>;
  abstract progress(id: string): Promise<TrainingJobProgress>;
  abstract testPredictions(id: string): Promise<TestPredictions>;
  abstract cancel(id: string, actor: AdminActor): Promise<TrainingJobView>;
}

/** `TrainingJobsPort` on the local `TrainingJobsService`. */
@Injectable()
export class LocalTrainingJobs extends TrainingJobsPort {
  constructor(private readonly jobs: TrainingJobsService) {
    super();
  }

  async create(body: CreateTrainingJobDto, createdBy: string | null, actor: AdminActor): Promise<{ id: string; status: string }> {
    const job = await this.jobs.create(body, createdBy, actor);
    return { id: job.id, status: job.status };
  }

  async list(query: TrainingJobListQuery): Promise<{ jobs: TrainingJobSummary[]; nextCursor: string | null }> {
    const { jobs, nextCursor } = await this.jobs.list(query);
    return { jobs: await Promise.all(jobs.map((j) => this.jobs.toSummaryDto(j))), nextCursor };
  }

  async get(id: string): Promise<TrainingJobView> {
    return this.jobs.toDto(await this.jobs.get(id));
  }

  async progress(id: string): Promise<TrainingJobProgress> {
    const row = await this.jobs.get(id);
    const position = row.status === 'queued' ? await this.jobs.queuePosition(row) : null;
    return { job: await this.jobs.toDto(row), position };
  }

  testPredictions(id: string): Promise<TestPredictions> {
    return this.jobs.testPredictions(id);
  }

  async cancel(id: string, actor: AdminActor): Promise<TrainingJobView> {
    return this.jobs.toDto(await this.jobs.cancel(id, actor));
  }
}
