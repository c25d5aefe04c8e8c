/**
 * Use cases of batch predictions: create (every reference checked before anything is stored or
 * queued), read, list and cancel. The row is the source of truth; the queue job carries its id.
 */
import { ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { InjectRepository } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import { canonicalize } from 'json-canonicalize';
import { createHash, randomUUID } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { JobName, jobId, QueueName, type InferenceRunBatchPredictionPayload } from '../../contracts';
import { DatasetCatalog, type ReadyDatasetVersion } from '../../ingestion';
import { ModelRegistry, parseVersionSelector, type VersionSelector } from '../../models';
import { writeAdminEvent, type AdminActor } from '../../platform/audit-trail/admin-event-outbox';
import { commitThenEnqueue, type QueuedJob } from '../../platform/queues/commit-then-enqueue';
import { jobPage } from '../../platform/queues/job-list';
import { ValidationProblemException } from '../../platform/http/validation';
import { CancellableJobRows } from '../../platform/queues/queued-job-row';
import { OrphanSweepingService } from '../../platform/queues/orphan-sweeping-service';
import { BatchPredictionEntity } from './batch-prediction.entity';
import {
  batchPredictionDto,
  DEFAULT_CHUNK_SIZE,
  IDEMPOTENCY_KEY_PATTERN,
  type BatchPredictionListQuery,
  type CreateBatchPredictionDto,
} from './batch-predictions.dto';
import { missingFeatures } from './prediction-columns';
import { parseRecommendBatchOptions, type RecommendJobOptions } from './recommend-columns';

/** Retry policy of `inference.batch-predict`: a retry rescores from the start unless the output was already handed to ingestion. */
export const BATCH_PREDICTION_JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 2_000 } } as const;

/** With neither `version` nor `alias`, a batch job scores with this alias (no canary routing: one version per job). */
export const DEFAULT_ALIAS = 'production';

/** `<input>-scored-<model>-v<version>`, cut to the dataset name limit (128) keeping the model and version. */
export function scoredDatasetName(input: string, model: string, version: number): string {
  const tail = `-scored-${model}-v${version}`;
  return `${input.slice(0, Math.max(1, 128 - tail.length))}${tail}`.slice(0, 128);
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The registry's view of the version a selector points at now (the worker resolves it again at start). */
interface SelectedVersion {
  version: number;
  features: Array<{ name: string }> | null;
  /** Recommender versions: the user column of its training data (the input version must have it). */
  userColumn: string | null;
}

@Injectable()
export class BatchPredictionsService extends OrphanSweepingService<BatchPredictionEntity> {
  protected readonly rows: CancellableJobRows<BatchPredictionEntity>;
  protected readonly logger = new Logger('BatchPredictions');

  constructor(
    @InjectRepository(BatchPredictionEntity) private readonly jobs: Repository<BatchPredictionEntity>,
    @InjectQueue(QueueName.BatchPredictions) private readonly queue: Queue,
    private readonly catalog: DatasetCatalog,
    private readonly registry: ModelRegistry,
  ) {
    super();
    this.rows = new CancellableJobRows(jobs, 'batch prediction');
  }

  /** The queue job that runs a batch prediction (its id derived from the row's, so it is queued at most once). */
  protected queueJob(j: BatchPredictionEntity): QueuedJob {
    return {
      queue: this.queue,
      name: JobName.InferenceRunBatchPrediction,
      data: { payloadVersion: 1, batchPredictionId: j.id } satisfies InferenceRunBatchPredictionPayload,
      opts: { ...BATCH_PREDICTION_JOB_OPTIONS, jobId: jobId(JobName.InferenceRunBatchPrediction, j.id) },
    };
  }

  /**
   * With an `Idempotency-Key`, the first request creates the job and a repeat returns it (409 when the
   * repeat's body differs). Without `outputDatasetId` the output goes to a dataset named after input,
   * model and version, never to the input dataset (whose latest version training would pick up).
   */
  async create(
    body: CreateBatchPredictionDto,
    createdBy: string | null,
    actor: AdminActor,
    idempotencyKey?: string,
  ): Promise<BatchPredictionEntity> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new ValidationProblemException([{ field: 'Idempotency-Key', reason: 'must be 1–255 visible ASCII characters' }]);
    }
    const requestSha256 = idempotencyKey !== undefined ? sha256(canonicalize(JSON.parse(JSON.stringify(body)))) : null;
    if (idempotencyKey !== undefined) {
      const earlier = await this.byIdempotencyKey(idempotencyKey, requestSha256!);
      if (earlier) return earlier;
    }
    const selector = parseVersionSelector(body); // the DTO checked each field; here: not both
    const input = await this.readyInput(body.datasetVersionId);
    const selected = await this.selectVersion(body.model, selector);
    const recommend = this.recommendOptions(body, selected, input);
    if (!recommend) this.checkFeatures(body.model, selected, input);
    if (body.outputDatasetId !== undefined) await this.requireDataset(body.outputDatasetId);
    const outputDatasetId =
      body.outputDatasetId ??
      (await this.catalog.ensureDataset(
        scoredDatasetName(input.datasetName, body.model, selected.version),
        `${input.datasetName} scored by ${body.model} v${selected.version} (batch predictions)`,
        actor,
      ));

    const job = this.jobs.create({
      id: randomUUID(),
      status: 'queued',
      phase: null,
      modelName: body.model,
      requestedVersion: body.version ?? null,
      requestedAlias: body.version === undefined ? (body.alias ?? DEFAULT_ALIAS) : null,
      datasetVersionId: input.id,
      outputDatasetId,
      recommend,
      chunkSize: body.chunkSize ?? DEFAULT_CHUNK_SIZE,
      // a recommender job counts users, known once the worker has read the input
      totalRows: recommend ? null : input.rowCount,
      idempotencyKey: idempotencyKey ?? null,
      requestSha256,
      createdBy,
    });
    try {
      // The job and its `batch-prediction.started` event commit together, then the job is queued (if it
      // cannot be, neither stays: commit-then-enqueue.ts); a request answered with an earlier job (same
      // Idempotency-Key) creates nothing and so logs nothing.
      return await commitThenEnqueue(this.jobs.manager.dataSource, {
        commit: async (m) => {
          await m.insert(BatchPredictionEntity, job);
          const dto = batchPredictionDto(job);
          const target = { batchPredictionId: dto.id, model: dto.model, ...dto.requested, datasetVersionId: dto.datasetVersionId };
          const eventId = await writeAdminEvent(m, actor, { action: 'batch-prediction.started', target, before: null, after: dto });
          return { value: job, eventIds: [eventId] };
        },
        job: (j) => this.queueJob(j),
        undo: async (m, j) => {
          await m.delete(BatchPredictionEntity, { id: j.id, status: 'queued' });
        },
      });
    } catch (e) {
      // the same key sent twice at once (unique index): the other request created the job
      if (idempotencyKey !== undefined) {
        const earlier = await this.byIdempotencyKey(idempotencyKey, requestSha256!);
        if (earlier) return earlier;
      }
      throw e;
    }
  }

  private async byIdempotencyKey(key: string, requestSha256: string): Promise<BatchPredictionEntity | null> {
    const earlier = await this.jobs.findOneBy({ idempotencyKey: key });
    if (earlier && earlier.requestSha256 !== requestSha256) {
      throw new ConflictException(`Idempotency-Key: ${key} was used for batch prediction ${earlier.id} with a different request body`);
    }
    return earlier;
  }

  /** A page, newest first, filtered by status, model and input dataset (id or name: any of its versions; or one version id). */
  async list(q: BatchPredictionListQuery = {}): Promise<{ jobs: BatchPredictionEntity[]; nextCursor: string | null }> {
    const { rows, nextCursor } = await jobPage(this.jobs.createQueryBuilder('b'), 'b', q, (d) => this.catalog.versionIdsOf(d));
    return { jobs: rows, nextCursor };
  }

  async get(id: string): Promise<BatchPredictionEntity> {
    return this.rows.get(id);
  }

  /**
   * A queued job is cancelled at once (its queue job removed when still waiting); a running one is
   * flagged and its worker stops before the next chunk. Once the output has been handed to
   * ingestion the new dataset version will appear, so the job can no longer be cancelled (409).
   * The change and its `batch-prediction.cancelled` event commit together.
   */
  async cancel(id: string, actor: AdminActor): Promise<BatchPredictionEntity> {
    return this.rows.cancel(id, {
      runningWhere: { outputDatasetVersionId: IsNull() },
      record: (m, after) =>
        writeAdminEvent(m, actor, { action: 'batch-prediction.cancelled', target: { id }, before: null, after: batchPredictionDto(after) }),
      queue: this.queue,
      queueJobId: jobId(JobName.InferenceRunBatchPrediction, id),
      refusal: (job) =>
        job.status === 'running'
          ? `batch prediction ${id} has handed its output to ingestion (dataset version ${job.outputDatasetVersionId}) ` +
            'and can no longer be cancelled'
          : undefined,
    });
  }

  private async readyInput(id: string): Promise<ReadyDatasetVersion> {
    try {
      return await this.catalog.getReadyVersion(id);
    } catch (e) {
      if (e instanceof NotFoundException) throw new NotFoundException(`datasetVersionId: dataset version ${id} not found`);
      if (e instanceof ConflictException)
        throw new ValidationProblemException([{ field: 'datasetVersionId', reason: `dataset version ${id} is not ready` }]);
      throw e;
    }
  }

  /** 404 naming `model`, `version` or `alias` (neither: the `production` alias); 400 for an archived version. */
  private async selectVersion(name: string, selector: VersionSelector): Promise<SelectedVersion> {
    const { version: found } = await this.registry.selectVersion(name, selector, DEFAULT_ALIAS);
    if (found.status !== 'active') {
      const field = selector.version !== undefined ? 'version' : 'alias';
      throw new ValidationProblemException([{ field, reason: `version ${found.version} of model ${name} is ${found.status}` }]);
    }
    const features = found.signature.features ?? null;
    const userColumn = found.task === 'recommendation' ? (found.recommender?.columns.user ?? null) : null;
    return { version: found.version, features, userColumn };
  }

  /**
   * A recommender version writes top-K lists: `recommend` is checked (400 naming `recommend.<field>`) and
   * the input must have the model's user column. A tabular model with `recommend` is a 400; null then.
   */
  private recommendOptions(
    body: CreateBatchPredictionDto,
    selected: SelectedVersion,
    input: ReadyDatasetVersion,
  ): RecommendJobOptions | null {
    if (selected.userColumn === null) {
      if (body.recommend !== undefined)
        throw new ValidationProblemException([
          {
            field: 'recommend',
            reason:
              `version ${selected.version} of model ${body.model} is not a recommender; ` +
              `recommend is only for template 'recommender' versions`,
          },
        ]);
      return null;
    }
    const { options, errors } = parseRecommendBatchOptions(body.recommend);
    if (errors.length) throw new ValidationProblemException(errors);
    const column = input.columns.find((c) => c.name === selected.userColumn);
    if (!column) {
      throw new ValidationProblemException([
        {
          field: 'datasetVersionId',
          reason:
            `dataset version ${input.id} lacks the user column '${selected.userColumn}' of recommender version ${selected.version} ` +
            `of model ${body.model} (columns: ${input.columns.map((c) => c.name).join(', ')})`,
        },
      ]);
    }
    if (!['integer', 'string', 'categorical'].includes(column.type)) {
      throw new ValidationProblemException([
        {
          field: 'datasetVersionId',
          reason:
            `the user column '${column.name}' of dataset version ${input.id} is ${column.type}; ` +
            'user ids are integer, string or categorical',
        },
      ]);
    }
    return options;
  }

  private checkFeatures(model: string, selected: SelectedVersion, input: ReadyDatasetVersion): void {
    if (!selected.features || selected.features.length === 0) {
      throw new ValidationProblemException([
        {
          field: 'model',
          reason:
            `version ${selected.version} of model ${model} has no named features (an imported model); ` +
            `batch scoring needs the record-level contract of a Kiln-trained model`,
        },
      ]);
    }
    const missing = missingFeatures(
      selected.features,
      input.columns.map((c) => c.name),
    );
    if (missing.length > 0) {
      throw new ValidationProblemException([
        {
          field: 'datasetVersionId',
          reason:
            `dataset version ${input.id} lacks the feature column(s) ${missing.map((m) => `'${m}'`).join(', ')} ` +
            `of version ${selected.version} of model ${model}`,
        },
      ]);
    }
  }

  /**
   * DatasetCatalog has no plain dataset lookup: its latest-ready lookup tells "unknown" (404) from "no ready version yet"
   * (409, exists).
   */
  private async requireDataset(id: string): Promise<void> {
    try {
      await this.catalog.getLatestReadyVersion(id);
    } catch (e) {
      if (e instanceof NotFoundException) throw new NotFoundException(`outputDatasetId: dataset ${id} not found`);
      if (!(e instanceof ConflictException)) throw e;
    }
  }
}
