import { ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { InjectRepository } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { JobName, jobId, QueueName, type TrainingRunJobPayload } from '../contracts';
import { PROFILE_SAMPLE_SIZE } from '../contracts/dataset-profile';
import { DatasetCatalog, type ReadyDatasetVersion } from '../ingestion';
import { ModelRegistry, PROMOTE_METRICS, type ModelLineage } from '../models';
import { ArtifactStore } from '../platform/artifacts';
import { writeAdminEvent, type AdminActor } from '../platform/audit-trail/admin-event-outbox';
import {
  checkClassWeights,
  checkInteractionColumns,
  RECOMMENDER_METRICS,
  DEFAULT_SPLIT,
  type EpochProgress,
  resolveHyperparameters,
  resolveRecommenderHyperparameters,
  resolveRecommenderSplit,
  resolveTarget,
  splitIndices,
  TrainingSpecError,
  type DataRecord,
  type TestPredictions,
} from '../ml';
import { ValidationProblemException } from '../platform/http/validation';
import { commitThenEnqueue, type QueuedJob } from '../platform/queues/commit-then-enqueue';
import { jobPage } from '../platform/queues/job-list';
import { CancellableJobRows } from '../platform/queues/queued-job-row';
import { OrphanSweepingService } from '../platform/queues/orphan-sweeping-service';
import type { CreateTrainingJobDto, TrainingJobListQuery } from './training-jobs.dto';
import { defaultPromoteMetric } from './promotion-decision';
import { TrainingJobEntity, type TrainingJobSpec } from './training-job.entity';

/** Retry policy of `training.run-job`: a retry resumes from the last epoch checkpoint. */
export const TRAINING_JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 2_000 } } as const;

const NUMERIC_TYPES = new Set(['number', 'integer']);

/**
 * Above this many labelled rows no split can come out empty (fractions ≥ 0.01, at most MAX_CLASSES
 * classes), so the pre-queue split check is skipped.
 */
const SPLIT_CHECK_MAX_ROWS = 10_000;

/** Every non-missing value of the target with its count, when the profile knows them exactly; else null. */
function exactValueCounts(v: ReadyDatasetVersion, target: string): Map<string | number, number> | null {
  const p = v.profile?.columns?.[target];
  if (!p) return null;
  if (p.kind === 'categorical' && p.otherCount === 0) return new Map(Object.entries(p.frequencies));
  if (p.kind === 'numeric' && p.sample.length === p.count && p.count <= PROFILE_SAMPLE_SIZE) {
    const counts = new Map<number, number>();
    for (const x of p.sample) counts.set(x, (counts.get(x) ?? 0) + 1);
    return counts;
  }
  return null;
}

/**
 * The hyperparameters given in the request: the DTO instance also has an own `undefined` property for
 * every field it declares (ES2022 class fields), and those of another template are not "given".
 */
function definedOnly<T extends object>(dto: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(dto ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The first epoch with the lowest validation loss (the trainer keeps that epoch's weights), or null before any. */
function bestEpochOf(history: EpochProgress[]): number | null {
  let best: EpochProgress | null = null;
  for (const h of history) if (best === null || h.valLoss < best.valLoss) best = h;
  return best?.epoch ?? null;
}

@Injectable()
export class TrainingJobsService extends OrphanSweepingService<TrainingJobEntity> {
  protected readonly rows: CancellableJobRows<TrainingJobEntity>;
  protected readonly logger = new Logger('TrainingJobs');

  constructor(
    @InjectRepository(TrainingJobEntity) private readonly jobs: Repository<TrainingJobEntity>,
    @InjectQueue(QueueName.Training) private readonly queue: Queue,
    private readonly catalog: DatasetCatalog,
    private readonly registry: ModelRegistry,
    private readonly artifacts: ArtifactStore,
  ) {
    super();
    this.rows = new CancellableJobRows(jobs, 'training job');
  }

  /** The queue job that runs a training job (its id derived from the row's, so it is queued at most once). */
  protected queueJob(j: TrainingJobEntity): QueuedJob {
    return {
      queue: this.queue,
      name: JobName.TrainingRunJob,
      data: { payloadVersion: 1, trainingJobId: j.id } satisfies TrainingRunJobPayload,
      opts: { ...TRAINING_JOB_OPTIONS, jobId: jobId(JobName.TrainingRunJob, j.id) },
    };
  }

  /**
   * Validates every reference against the dataset version before anything is stored or queued. The
   * job commits with its `training.started` event by `actor` (`after` = `afterOf(job)`; by default
   * what the HTTP call answers), then is queued; if it cannot be, neither stays (commit-then-enqueue.ts).
   */
  async create(
    body: CreateTrainingJobDto,
    createdBy: string | null,
    actor: AdminActor,
    afterOf: (job: TrainingJobEntity) => unknown = (j) => ({ id: j.id, status: j.status }),
  ): Promise<TrainingJobEntity> {
    const version = await this.readyVersion(body.datasetVersionId);
    const recommender = body.template === 'recommender';
    if (recommender) {
      this.checkRecommenderSpec(version, body);
    } else {
      this.checkSpec(version, body);
      this.checkAgainstProfile(version, body);
    }
    const spec: TrainingJobSpec = {
      ...(body.target !== undefined ? { target: body.target } : {}),
      ...(body.columns !== undefined ? { columns: { ...body.columns } } : {}),
      ...(body.task !== undefined ? { task: body.task } : {}),
      ...(body.positiveClass !== undefined ? { positiveClass: body.positiveClass } : {}),
      ...(body.features !== undefined ? { features: body.features } : {}),
      ...(body.template !== undefined ? { template: body.template } : {}),
      ...(body.hyperparameters !== undefined ? { hyperparameters: definedOnly(body.hyperparameters) } : {}),
      ...(body.split !== undefined ? { split: { ...body.split } } : {}),
      ...(body.promote !== undefined ? { promote: body.promote } : {}),
      ...(body.promoteMetric !== undefined ? { promoteMetric: body.promoteMetric } : {}),
    };
    const job = this.jobs.create({
      id: randomUUID(),
      status: 'queued',
      datasetVersionId: version.id,
      modelName: body.modelName,
      spec,
      history: [],
      createdBy,
    });
    return commitThenEnqueue(this.jobs.manager.dataSource, {
      commit: async (m) => {
        await m.save(job);
        const target = { trainingJobId: job.id, datasetVersionId: job.datasetVersionId, model: job.modelName };
        const eventId = await writeAdminEvent(m, actor, { action: 'training.started', target, before: null, after: afterOf(job) });
        return { value: job, eventIds: [eventId] };
      },
      job: (j) => this.queueJob(j),
      // not queued: nothing stays behind that no worker would ever pick up
      undo: async (m, j) => {
        await m.delete(TrainingJobEntity, { id: j.id, status: 'queued' });
      },
    });
  }

  /**
   * A page of jobs, newest first, filtered by status, model and dataset (id or name: any of its
   * versions; or one version id). Keyset paging on (created_at, id): the cursor is the id of the last
   * job of the previous page, so jobs created meanwhile neither shift nor repeat a page.
   */
  async list(q: TrainingJobListQuery = {}): Promise<{ jobs: TrainingJobEntity[]; nextCursor: string | null }> {
    const { rows, nextCursor } = await jobPage(this.jobs.createQueryBuilder('j'), 'j', q, (d) => this.catalog.versionIdsOf(d));
    return { jobs: rows, nextCursor };
  }

  /** Where a queued job stands: 1 = next to start; `running` jobs are ahead of every queued one. */
  async queuePosition(job: TrainingJobEntity): Promise<{ position: number; running: number }> {
    const [row] = (await this.jobs.query(
      `SELECT count(*) FILTER (WHERE status = 'queued' AND (created_at, id) < ($1, $2))::int AS ahead,
              count(*) FILTER (WHERE status = 'running')::int AS running
         FROM training_jobs WHERE status IN ('queued', 'running')`,
      [job.createdAt, job.id],
    )) as Array<{ ahead: number; running: number }>;
    return { position: (row?.ahead ?? 0) + 1, running: row?.running ?? 0 };
  }

  async get(id: string): Promise<TrainingJobEntity> {
    return this.rows.get(id);
  }

  /** The evaluated test split of a succeeded job (404 while it has none). */
  async testPredictions(id: string): Promise<TestPredictions> {
    const job = await this.get(id);
    if (!job.testPredictionsSha256) throw new NotFoundException(`training job ${id} has no test predictions (status ${job.status})`);
    return JSON.parse((await this.artifacts.getBuffer(job.testPredictionsSha256)).toString('utf8')) as TestPredictions;
  }

  async modelVersionOf(job: TrainingJobEntity): Promise<{ model: string; version: number } | null> {
    if (!job.modelVersionId) return null;
    const r = await this.registry.versionById(job.modelVersionId);
    return r ? { model: r.model.name, version: r.version.version } : null;
  }

  /**
   * A queued job is cancelled at once (its queue job removed when still waiting); a running one is
   * flagged and its worker stops at the next batch. A finished job cannot be cancelled (409).
   */
  async cancel(id: string, actor: AdminActor): Promise<TrainingJobEntity> {
    return this.rows.cancel(id, {
      record: async (m, after) =>
        writeAdminEvent(m, actor, { action: 'training.cancelled', target: { id }, before: null, after: await this.toDto(after) }),
      queue: this.queue,
      queueJobId: jobId(JobName.TrainingRunJob, id),
    });
  }

  /** A job as lists show it: everything but the epoch history (one call away, on the job itself). */
  async toSummaryDto(j: TrainingJobEntity) {
    return {
      id: j.id,
      status: j.status,
      datasetVersionId: j.datasetVersionId,
      modelName: j.modelName,
      spec: j.spec,
      progress: j.progress,
      metrics: j.metrics,
      promotion: j.promotion ?? null,
      modelVersion: await this.modelVersionOf(j),
      cancelRequested: j.cancelRequested,
      /** The last epoch whose checkpoint is durable in the artifact store (a retry resumes after it). */
      checkpointEpoch: j.checkpointEpoch,
      /** Artifact holding the evaluated test split (GET …/test-predictions). */
      testPredictionsSha256: j.testPredictionsSha256,
      attempts: j.attempts,
      ...(j.error ? { error: { code: j.errorCode, message: j.error } } : {}),
      createdBy: j.createdBy,
      createdAt: j.createdAt.toISOString(),
      startedAt: j.startedAt?.toISOString() ?? null,
      finishedAt: j.finishedAt?.toISOString() ?? null,
    };
  }

  /**
   * A job as GET /api/training-jobs/:id shows it: the summary, the epoch history, the configuration it
   * runs with (`resolved`: the request with every default filled in) and early stopping.
   */
  async toDto(j: TrainingJobEntity) {
    const registered = j.modelVersionId ? await this.registry.versionById(j.modelVersionId) : null;
    const lineage = registered?.version.lineage;
    const resolved = this.resolvedSpecOf(j, registered?.version.task ?? null, lineage);
    const hp = resolved.hyperparameters as { epochs?: number; earlyStoppingPatience?: number };
    const epochsCompleted = lineage?.epochsCompleted ?? j.progress?.epoch ?? 0;
    return {
      ...(await this.toSummaryDto(j)),
      history: j.history,
      resolved,
      earlyStopping: {
        /** Epochs without a better validation loss before training stops; 0 = off. */
        patience: hp.earlyStoppingPatience ?? null,
        /** The epoch whose weights the model keeps (lowest validation loss so far, while running). */
        bestEpoch: lineage?.bestEpoch ?? bestEpochOf(j.history),
        epochsCompleted,
        stoppedEarly: j.status === 'succeeded' && hp.epochs !== undefined ? epochsCompleted < hp.epochs : false,
      },
    };
  }

  /**
   * The request with the defaults it runs with. Known before the job runs: template, hyperparameters,
   * split fractions, promotion mode; learned from the data when it runs (null until then unless given):
   * the task, the features (every other column), stratification and the promotion metric (per task).
   * Once registered, the version's lineage is the record of what ran.
   */
  private resolvedSpecOf(j: TrainingJobEntity, registeredTask: string | null, lineage?: ModelLineage) {
    const template = j.spec.template ?? 'mlp';
    let hyperparameters: object = j.spec.hyperparameters ?? {};
    try {
      const given = { ...(j.spec.hyperparameters ?? {}) };
      hyperparameters = template === 'recommender' ? resolveRecommenderHyperparameters(given) : resolveHyperparameters(template, given);
    } catch {
      // refused specs never reach a row; a row from an older Kiln keeps what it asked for
    }
    const task = registeredTask ?? j.spec.task ?? null;
    return {
      target: j.spec.target,
      task,
      positiveClass: j.spec.positiveClass ?? null,
      features: lineage?.features ?? j.spec.features ?? null,
      template,
      hyperparameters: lineage?.hyperparameters ?? hyperparameters,
      // a recommender holds out per user (by time when it can): its own fractions, nothing to stratify
      split:
        template === 'recommender'
          ? resolveRecommenderSplit(j.spec.split)
          : {
              validation: j.spec.split?.validation ?? DEFAULT_SPLIT.validation,
              test: j.spec.split?.test ?? DEFAULT_SPLIT.test,
              stratify: j.spec.split?.stratify ?? (task === null ? null : task !== 'regression'),
            },
      promote: j.spec.promote ?? 'never',
      promoteMetric: j.spec.promoteMetric ?? (task ? defaultPromoteMetric(task) : null),
    };
  }

  private async readyVersion(id: string): Promise<ReadyDatasetVersion> {
    try {
      return await this.catalog.getReadyVersion(id);
    } catch (e) {
      if (e instanceof NotFoundException) throw new NotFoundException(`datasetVersionId: dataset version ${id} not found`);
      if (e instanceof ConflictException) {
        throw new ValidationProblemException([{ field: 'datasetVersionId', reason: `dataset version ${id} is not ready` }]);
      }
      throw e;
    }
  }

  /**
   * The trainer's own checks (hyperparameters, target classes, positiveClass, class weights, split
   * sizes) run on what the version's profile knows exactly: the class labels and counts of a
   * categorical/boolean/string target with every value counted, or every value of a numeric target
   * with at most PROFILE_SAMPLE_SIZE values (its reservoir sample is then the whole column).
   */
  private checkAgainstProfile(v: ReadyDatasetVersion, body: CreateTrainingJobDto): void {
    if (body.template === 'recommender') return; // checkRecommenderSpec
    try {
      const hp = resolveHyperparameters(body.template ?? 'mlp', definedOnly(body.hyperparameters));
      const counts = exactValueCounts(v, body.target);
      if (!counts) return; // the trainer checks against the rows; too many rows for a split to fail
      const rows: DataRecord[] = [...counts.keys()].map((value) => ({ [body.target]: value }));
      const opts = { task: body.task, positiveClass: body.positiveClass };
      const target = resolveTarget(v.columns, rows, body.target, opts);
      checkClassWeights(hp, target);
      const n = [...counts.values()].reduce((a, b) => a + b, 0);
      if (n > SPLIT_CHECK_MAX_ROWS) return;
      const classification = target.task !== 'regression';
      const index = new Map((target.classes ?? []).map((c, i) => [c, i]));
      const strata = classification ? [...counts].flatMap(([value, c]) => Array<number>(c).fill(index.get(String(value)) ?? 0)) : undefined;
      splitIndices(n, hp.seed, { stratify: classification, ...body.split }, strata);
    } catch (e) {
      if (e instanceof TrainingSpecError) throw new ValidationProblemException([{ field: e.field, reason: e.reason }]);
      throw e;
    }
  }

  /**
   * A version written by batch scoring holds a model's predictions of its target: learning that same
   * target from them is a leak (test accuracy 1.0), so those columns are refused by name, whether
   * listed in `features` or implied by the default (every other column).
   */
  private checkScoredColumns(v: ReadyDatasetVersion, body: CreateTrainingJobDto): void {
    const lineage = v.lineage;
    if (lineage?.kind !== 'batch-scoring' || (lineage.target !== null && lineage.target !== body.target)) return;
    const features = new Set(body.features ?? v.columns.map((c) => c.name));
    const leaking = lineage.scoredColumns.filter((c) => features.has(c));
    if (leaking.length === 0) return;
    throw new ValidationProblemException([
      {
        field: 'features',
        reason:
          `${leaking.map((c) => `'${c}'`).join(', ')} hold the predictions of '${body.target}' ` +
          `by model ${lineage.model} v${lineage.modelVersion} ` +
          `(batch prediction ${lineage.batchPredictionId}); ` +
          `list features without them, or train on the input version ${lineage.inputDatasetVersionId}`,
      },
    ]);
  }

  /**
   * A `recommender` job: the interaction columns exist and have usable types, the hyperparameters and
   * split fractions are valid, and the fields of the tabular templates are absent. When the profile
   * counts the user column exactly, a version whose users all have a single interaction is refused
   * here (the per-user holdout needs two); otherwise the trainer finds it in the rows.
   */
  private checkRecommenderSpec(v: ReadyDatasetVersion, body: CreateTrainingJobDto): void {
    const notForRecommender = (['target', 'task', 'positiveClass', 'features'] as const).filter((k) => body[k] !== undefined);
    if (notForRecommender.length) {
      throw new ValidationProblemException(
        notForRecommender.map((field) => ({
          field,
          reason: 'does not apply to the recommender template (it takes columns: {user, item, rating?, timestamp?})',
        })),
      );
    }
    if (body.promoteMetric !== undefined && !RECOMMENDER_METRICS.includes(body.promoteMetric)) {
      throw new ValidationProblemException([
        { field: 'promoteMetric', reason: `${body.promoteMetric} is not a recommender metric (${RECOMMENDER_METRICS.join(', ')})` },
      ]);
    }
    try {
      const columns = checkInteractionColumns(v.columns, body.columns);
      resolveRecommenderHyperparameters(definedOnly(body.hyperparameters));
      resolveRecommenderSplit(body.split);
      if (body.split?.stratify !== undefined) throw new TrainingSpecError('split.stratify', 'does not apply to the recommender template');
      const p = v.profile?.columns?.[columns.user];
      let most: number | null = null;
      if (p?.kind === 'categorical' && p.otherCount === 0) most = Math.max(0, ...Object.values(p.frequencies));
      else if (p?.kind === 'numeric' && p.sample.length === p.count && p.count <= PROFILE_SAMPLE_SIZE) {
        const counts = new Map<number, number>();
        for (const x of p.sample) counts.set(x, (counts.get(x) ?? 0) + 1);
        most = Math.max(0, ...counts.values());
      }
      if (most !== null && most < 2) {
        throw new TrainingSpecError(
          'columns.user',
          `every user of '${columns.user}' has fewer than 2 interactions: ` +
            'the per-user holdout needs users with at least 2 (one to train on, one to test)',
        );
      }
    } catch (e) {
      if (e instanceof TrainingSpecError) throw new ValidationProblemException([{ field: e.field, reason: e.reason }]);
      throw e;
    }
  }

  /** The checks that need only the version's columns; the trainer re-checks everything against the rows. */
  private checkSpec(v: ReadyDatasetVersion, body: CreateTrainingJobDto): void {
    const types = new Map(v.columns.map((c) => [c.name, c.type]));
    const names = v.columns.map((c) => c.name);
    const targetType = types.get(body.target);
    if (targetType === undefined) {
      throw new ValidationProblemException([
        { field: 'target', reason: `'${body.target}' is not a column of dataset version ${v.id} (columns: ${names.join(', ')})` },
      ]);
    }
    if (targetType === 'timestamp')
      throw new ValidationProblemException([{ field: 'target', reason: `'${body.target}' is a timestamp column and cannot be a target` }]);
    if (body.task === 'regression' && !NUMERIC_TYPES.has(targetType)) {
      throw new ValidationProblemException([
        { field: 'task', reason: `regression needs a numeric target; '${body.target}' is ${targetType}` },
      ]);
    }
    if (body.promoteMetric !== undefined && body.task !== undefined && !PROMOTE_METRICS[body.task].includes(body.promoteMetric)) {
      throw new ValidationProblemException([
        { field: 'promoteMetric', reason: `${body.promoteMetric} is not a ${body.task} metric (${PROMOTE_METRICS[body.task].join(', ')})` },
      ]);
    }
    if (body.positiveClass !== undefined && body.task !== undefined && body.task !== 'binary') {
      throw new ValidationProblemException([{ field: 'positiveClass', reason: 'only applies to task binary' }]);
    }
    this.checkScoredColumns(v, body);
    if (body.features) {
      const errors = body.features.flatMap((f, i) =>
        f === body.target
          ? [{ field: `features.${i}`, reason: `the target '${f}' cannot also be a feature` }]
          : types.has(f)
            ? []
            : [{ field: `features.${i}`, reason: `'${f}' is not a column of dataset version ${v.id}` }],
      );
      if (new Set(body.features).size !== body.features.length) errors.push({ field: 'features', reason: 'a feature is listed twice' });
      if (errors.length) throw new ValidationProblemException(errors);
    } else if (names.length < 2) {
      throw new ValidationProblemException([{ field: 'features', reason: 'the dataset has no column besides the target' }]);
    }
  }
}
