import { Injectable } from '@nestjs/common';
import type { AdminActor } from '../../platform/audit-trail/admin-event-outbox';
import type { PortOf } from '../../platform/rpc/port';
import { batchPredictionDto, type BatchPredictionListQuery, type CreateBatchPredictionDto } from './batch-predictions.dto';
import { BatchPredictionsService } from './batch-predictions.service';

export type BatchPredictionView = ReturnType<typeof batchPredictionDto>;

/**
 * The batch prediction use cases the gateway serves (DI token; patterns `RpcPatterns.batch`):
 * `LocalBatchPredictions` in a process with the inference role, else an inference app over
 * KILN_TRANSPORT. Results are the API's JSON views (ISO times).
 */
export abstract class BatchPredictionsPort implements PortOf<'batch'> {
  abstract create(
    body: CreateBatchPredictionDto,
    createdBy: string | null,
    actor: AdminActor,
    idempotencyKey?: string,
  ): Promise<BatchPredictionView>;
  abstract list(query: BatchPredictionListQuery): Promise<{ jobs: BatchPredictionView[]; nextCursor: string | null }>;
  abstract get(id: string): Promise<BatchPredictionView>;
  abstract cancel(id: string, actor: AdminActor): Promise<BatchPredictionView>;
}

/** `BatchPredictionsPort` on the local `BatchPredictionsService`. */
@Injectable()
export class LocalBatchPredictions extends BatchPredictionsPort {
  constructor(private readonly jobs: BatchPredictionsService) {
    super();
  }

  async create(
    body: CreateBatchPredictionDto,
    createdBy: string | null,
    actor: AdminActor,
    idempotencyKey?: string,
  ): Promise<BatchPredictionView> {
    return batchPredictionDto(await this.jobs.create(body, createdBy, actor, idempotencyKey));
  }

  async list(query: BatchPredictionListQuery): Promise<{ jobs: BatchPredictionView[]; nextCursor: string | null }> {
    const { jobs, nextCursor } = await this.jobs.list(query);
    return { jobs: jobs.map(batchPredictionDto), nextCursor };
  }

  async get(id: string): Promise<BatchPredictionView> {
    return batchPredictionDto(await this.jobs.get(id));
  }

  async cancel(id: string, actor: AdminActor): Promise<BatchPredictionView> {
    return batchPredictionDto(await this.jobs.cancel(id, actor));
  }
}
