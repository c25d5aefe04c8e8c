import { promotionActor } from '../platform/audit-trail/admin-event-outbox';
import { WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { DataSource, Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { JobName, QueueName, type TrainingRunJobPayload, type TrainingRunJobResult } from '../contracts';
import { DatasetCatalog, type ReadyDatasetVersion } from '../ingestion';
import { ModelRegistry, type NewTrainedVersion, type PromotionDecision } from '../models';
import { ArtifactStore } from '../platform/artifacts';
import { KILN_CONFIG, type KilnConfig } from '../platform/config/kiln-config';
import { progressLogGate } from '../platform/logging/logging';
import { JobHandlers } from '../platform/queues/job-handlers';
import { CancellableJobRows, isLastAttempt } from '../platform/queues/queued-job-row';
import type { EpochProgress } from '../ml';
import { ONNX_EXPORT_OPSET } from '../ml/onnx/onnx-export';
import { closeTrainingWorkers, runTraining, type TrainJobInput } from './train-runner';
import type { RecommenderOutcome, TabularOutcome, WorkerSpec } from './train-protocol';
import { TrainingJobEntity } from './training-job.entity';

/**
 * Progress is written to the job row at most this often (plus the last epoch, every checkpoint and
 * before the result is registered). Every epoch stays in `history`, so SSE, which polls the row
 * every EVENTS_POLL_MS, still sends each epoch.
 */
export const PROGRESS_WRITE_MS = 250;

/** Abort reason of a training interrupted by a shutdown (as opposed to a user's cancel). */
const SHUTDOWN = 'shutdown';

const fmt = (x: number): string => (Number.isFinite(x) ? x.toPrecision(4) : String(x));

class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Worker of the `training` queue: `training.run-job` (contract in src/contracts/queues.ts).
 * The row is the state: status, progress, checkpoint. train() runs in a long-lived worker thread (pool); each epoch's
 * checkpoint is persisted (artifact store, then the row) while training goes on, in epoch order and
 * coalesced (train-runner.ts), and a retry resumes from the latest persisted one. The row's history
 * always covers its checkpointEpoch (it is written together with the checkpoint).
 * The model version is registered in the same transaction that marks the job succeeded, with the
 * promotion verdict the worker made (the registry only moves the alias).
 * The queue worker options come from the configuration: TrainingWorkersModule.forRoot applies @Processor.
 */
@Injectable()
export class TrainProcessor extends WorkerHost implements OnApplicationShutdown {
  private readonly logger = new Logger(TrainProcessor.name);
  private readonly rows: CancellableJobRows<TrainingJobEntity>;
  /** Running trainings by job id, so a shutdown can interrupt them (abort reason SHUTDOWN). */
  private readonly running = new Map<string, AbortController>();
  /** The queue lock token of each job being processed (needed to hand the job back to the queue). */
  private readonly tokens = new WeakMap<Job, string | undefined>();
  readonly handlers = new JobHandlers(QueueName.Training, [{ name: JobName.TrainingRunJob, handle: (job) => this.run(job) }]);

  constructor(
    @InjectRepository(TrainingJobEntity) private readonly jobs: Repository<TrainingJobEntity>,
    @InjectDataSource() private readonly db: DataSource,
    private readonly catalog: DatasetCatalog,
    private readonly registry: ModelRegistry,
    private readonly artifacts: ArtifactStore,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
  ) {
    super();
    this.rows = new CancellableJobRows(jobs, 'training job');
  }

  /** Idle training threads are terminated now, busy ones as their job ends (the queue worker waits for it). */
  async onApplicationShutdown(): Promise<void> {
    await closeTrainingWorkers();
  }

  async process(job: Job, token?: string): Promise<TrainingRunJobResult> {
    this.tokens.set(job, token);
    return this.handlers.dispatch(job);
  }

  /**
   * Called by the shutdown drain before the queue workers close: a training run can last far longer
   * than a shutdown may wait, so it is interrupted at its next batch instead of being waited for. Its
   * latest epoch checkpoint is already durable; the queue job goes back to the queue without using an
   * attempt and the row stays `running`, so the next start resumes it from that checkpoint (as after a
   * kill -9, without waiting for the lock to lapse).
   */
  interruptForShutdown(): void {
    for (const controller of this.running.values()) controller.abort(SHUTDOWN);
  }

  private async run(job: Job<TrainingRunJobPayload>): Promise<TrainingRunJobResult> {
    const p = job.data;
    if (!p || p.payloadVersion !== 1)
      throw new UnrecoverableError(`unsupported payloadVersion ${JSON.stringify(p?.payloadVersion)}; expected 1`);
    const row = typeof p.trainingJobId === 'string' ? await this.jobs.findOneBy({ id: p.trainingJobId }).catch(() => null) : null;
    if (!row) throw new UnrecoverableError(`trainingJobId: training job ${String(p.trainingJobId)} not found`);
    if (this.rows.isFinished(row)) return this.resultOf(row);
    if (row.cancelRequested) return this.markCancelled(row.id);

    if (!(await this.rows.claim(row.id))) return this.resultOf(await this.jobs.findOneByOrFail({ id: row.id }));
    const attempt = job.attemptsMade + 1;
    this.logger.log(
      { trainingJobId: row.id, model: row.modelName, datasetVersionId: row.datasetVersionId, attempt },
      `training job ${row.id} started: model ${row.modelName}, target ${row.spec.target}${attempt > 1 ? `, attempt ${attempt}` : ''}` +
        (row.checkpointEpoch ? `, resuming after epoch ${row.checkpointEpoch}` : ''),
    );
    const due = progressLogGate();
    const logProgress = (p: EpochProgress): void => {
      // the first and last epoch always; in between at most every JOB_PROGRESS_LOG_MS
      if (!due() && p.epoch !== 1 && p.epoch < p.epochs) return;
      this.logger.log(
        { trainingJobId: row.id, ...p },
        `training job ${row.id}: epoch ${p.epoch}/${p.epochs} loss ${fmt(p.loss)} ` +
          `val loss ${fmt(p.valLoss)} ${p.valMetricName} ${fmt(p.valMetric)}`,
      );
    };

    const controller = new AbortController();
    this.running.set(row.id, controller);
    const stopWatching = this.rows.watchCancel(row.id, () => controller.abort());
    try {
      const version = await this.readyVersion(row.datasetVersionId);
      let resumeFrom: Buffer | undefined;
      if (row.checkpointSha256) {
        resumeFrom = await this.artifacts.getBuffer(row.checkpointSha256).catch((e: unknown) => {
          this.logger.warn({ err: e, trainingJobId: row.id }, 'checkpoint unreadable; training from scratch');
          return undefined;
        });
      }
      const history: EpochProgress[] = resumeFrom ? row.history.filter((h) => h.epoch <= (row.checkpointEpoch ?? 0)) : [];
      // row writes go one at a time, in the order issued, each with the history known when issued,
      // so the row's history never goes backwards
      let rowWrites: Promise<unknown> = Promise.resolve();
      const writeRow = (fields: () => QueryDeepPartialEntity<TrainingJobEntity>): Promise<void> => {
        const w = rowWrites.then(() => this.jobs.update({ id: row.id, status: 'running' }, fields()));
        rowWrites = w.catch(() => undefined);
        return w.then(() => undefined);
      };
      let lastProgressWrite = 0;
      let progressDirty = false;
      const writeProgress = async (): Promise<void> => {
        lastProgressWrite = performance.now();
        progressDirty = false;
        const progress = history[history.length - 1];
        await writeRow(() => ({ progress, history: [...history] }));
        await job.updateProgress(progress as unknown as object).catch(() => undefined);
      };
      // a reference to the version's stored data, not rows: the worker thread reads it, trains and decides the promotion
      const input: TrainJobInput = {
        artifacts: this.artifacts.location(),
        tfBackend: this.config.tfBackend,
        dataset: { sha256: version.contentHash, columns: version.columns.map((c) => ({ name: c.name, type: c.type })) },
        spec: row.spec as WorkerSpec,
        ...(row.spec.promote ? { promote: { mode: row.spec.promote, metric: row.spec.promoteMetric } } : {}),
      };
      const outcome = await runTraining(input, {
        training: this.config.training,
        resumeFrom,
        signal: controller.signal,
        productionVersion: () => this.registry.productionVersion(row.modelName),
        onProgress: async (progress) => {
          history.push(progress);
          logProgress(progress);
          progressDirty = true;
          if (progress.epoch >= progress.epochs || performance.now() - lastProgressWrite >= PROGRESS_WRITE_MS) await writeProgress();
        },
        onCheckpoint: async (bytes, epochsCompleted) => {
          const ref = await this.artifacts.put(bytes);
          // runTraining calls this after the progress of epochs <= epochsCompleted: history covers it
          lastProgressWrite = performance.now();
          progressDirty = false;
          const progress = history[history.length - 1];
          await writeRow(() => ({ checkpointSha256: ref.sha256, checkpointEpoch: epochsCompleted, progress, history: [...history] }));
        },
      });
      // early stopping ends before the last epoch: the final progress may still be unwritten
      if (progressDirty) await writeProgress();
      await rowWrites;
      if (outcome.kind === 'recommender') return await this.registerRecommender(row, version, outcome);
      await this.storeTestPredictions(row.id, outcome);
      return await this.register(row, version, outcome, outcome.promotion);
    } catch (e) {
      if (controller.signal.reason === SHUTDOWN) return await this.handBack(job, row.id);
      return await this.handleFailure(job, row.id, e);
    } finally {
      stopWatching();
      this.running.delete(row.id);
    }
  }

  /** Interrupted by a shutdown: back to the queue (no attempt used); the next start resumes from the checkpoint. */
  private async handBack(job: Job, id: string): Promise<never> {
    const row = await this.jobs.findOneBy({ id });
    await job.moveToDelayed(Date.now(), this.tokens.get(job));
    this.logger.log(
      { trainingJobId: id, checkpointEpoch: row?.checkpointEpoch ?? null },
      `training job ${id} interrupted by the shutdown; it resumes ` +
        (row?.checkpointEpoch ? `after epoch ${row.checkpointEpoch}` : 'from the start') +
        ' when Kiln starts again',
    );
    throw new DelayedError();
  }

  /** The evaluated test split, as an artifact referenced from the job row (GET …/test-predictions). */
  private async storeTestPredictions(id: string, o: TabularOutcome): Promise<void> {
    const ref = await this.artifacts.put(Buffer.from(JSON.stringify(o.testPredictions)));
    await this.jobs.update({ id, status: 'running' }, { testPredictionsSha256: ref.sha256 });
  }

  private async readyVersion(id: string): Promise<ReadyDatasetVersion> {
    try {
      return await this.catalog.getReadyVersion(id);
    } catch (e) {
      throw new JobFailure('DATASET_UNAVAILABLE', `datasetVersionId: ${(e as Error).message}`);
    }
  }

  /**
   * A recommender version: the serving model (user index → a score per item) plus its index artifact
   * (vocabularies, seen items, popularity), task `recommendation`, no preprocessing or target.
   */
  private async registerRecommender(row: TrainingJobEntity, v: ReadyDatasetVersion, o: RecommenderOutcome): Promise<TrainingRunJobResult> {
    const index = await this.artifacts.put(Buffer.from(JSON.stringify(o.index)));
    const items = o.index.items.length;
    return this.registerVersion(
      row,
      o.modelBytes,
      {
        task: 'recommendation',
        signature: {
          inputs: [{ name: 'user_index', dtype: 'float32', shape: [-1, 1] }],
          outputs: [{ name: 'scores', dtype: 'float32', shape: [-1, items] }],
        },
        preprocessing: null,
        target: null,
        metrics: { validation: o.metrics.validation, test: o.metrics.test },
        recommender: {
          feedback: o.feedback,
          columns: o.columns,
          users: o.index.users.length,
          items,
          embeddingSize: o.hyperparameters.embeddingSize,
          indexSha256: index.sha256,
        },
        lineage: {
          datasetVersionId: v.id,
          datasetId: v.datasetId,
          datasetName: v.datasetName,
          datasetVersion: v.version,
          datasetContentHash: v.contentHash,
          trainingJobId: row.id,
          template: 'recommender',
          hyperparameters: o.hyperparameters,
          features: [o.columns.user, o.columns.item],
          split: { ...(row.spec.split ?? {}), ...o.split },
          backend: o.backend,
          durationMs: o.durationMs,
          epochsCompleted: o.epochsCompleted,
          bestEpoch: o.bestEpoch,
          ...(o.resumedFromEpoch > 0 ? { resumedFromEpoch: o.resumedFromEpoch } : {}),
          samplesPerSecond: o.samplesPerSecond,
          codeVersion: this.config.version.code,
        },
      },
      o.promotion,
    );
  }

  private async register(
    row: TrainingJobEntity,
    v: ReadyDatasetVersion,
    o: TabularOutcome,
    decision: PromotionDecision | null = null,
  ): Promise<TrainingRunJobResult> {
    // The TF.js artifact is the source of truth; the ONNX graph derived from it lets ONNX Runtime serve the same weights.
    const onnx = await this.registry.exportOnnxGraph(o.modelBytes, o.signature, `kiln ${this.config.version.code}`);
    if (onnx.error) this.logger.warn({ trainingJobId: row.id, error: onnx.error }, 'no ONNX graph for this version (it serves on TF.js)');
    return this.registerVersion(
      row,
      o.modelBytes,
      {
        task: o.task,
        onnxSha256: onnx.sha256,
        signature: o.signature,
        preprocessing: o.preprocessing,
        target: o.target,
        metrics: { validation: o.metrics.validation, test: o.metrics.test },
        lineage: {
          datasetVersionId: v.id,
          datasetId: v.datasetId,
          datasetName: v.datasetName,
          datasetVersion: v.version,
          datasetContentHash: v.contentHash,
          trainingJobId: row.id,
          template: o.template,
          hyperparameters: o.hyperparameters,
          features: o.signature.features.map((f) => f.name),
          split: row.spec.split ?? {},
          backend: o.backend,
          durationMs: o.durationMs,
          epochsCompleted: o.epochsCompleted,
          bestEpoch: o.bestEpoch,
          resumedFromEpoch: o.resumedFromEpoch,
          samplesPerSecond: o.samplesPerSecond,
          codeVersion: this.config.version.code,
          onnxExport: onnx.error ? { error: onnx.error } : { opset: ONNX_EXPORT_OPSET },
        },
      },
      decision,
    );
  }

  /** Stores the model bytes and registers the version in the transaction that marks the job succeeded (and applies the promotion). */
  private async registerVersion(
    row: TrainingJobEntity,
    bytes: TabularOutcome['modelBytes'],
    fields: Omit<NewTrainedVersion, 'modelName' | 'trainingJobId' | 'modelJsonSha256' | 'weightsSha256' | 'createdBy'>,
    decision: PromotionDecision | null,
  ): Promise<TrainingRunJobResult> {
    const modelJson = await this.artifacts.put(Buffer.from(JSON.stringify(bytes.modelJson)));
    const weights = await this.artifacts.put(bytes.weights);
    const metrics = fields.metrics;
    const registered = await this.db.transaction(async (m) => {
      const { model, version } = await this.registry.registerTrainedVersion(m, {
        ...fields,
        modelName: row.modelName,
        trainingJobId: row.id,
        modelJsonSha256: modelJson.sha256,
        weightsSha256: weights.sha256,
        createdBy: row.createdBy,
      });
      const done = await m.update(
        TrainingJobEntity,
        { id: row.id, status: 'running', cancelRequested: false },
        { status: 'succeeded', metrics, modelVersionId: version.id, finishedAt: new Date() },
      );
      if (!done.affected) throw new JobFailure('CANCELLED', 'cancelled before registration');
      if (decision) {
        const actor = promotionActor(row.id, row.createdBy);
        const promotion = await this.registry.applyPromotion(m, model, version, decision, row.createdBy, actor);
        await m.update(TrainingJobEntity, { id: row.id }, { promotion });
      }
      return { model: model.name, version: version.version };
    });
    const lineage = fields.lineage;
    this.logger.log(
      { trainingJobId: row.id, ...registered },
      `training job ${row.id} succeeded` +
        (lineage.epochsCompleted !== undefined ? ` after ${lineage.epochsCompleted} epochs` : '') +
        (lineage.durationMs !== undefined ? ` in ${(lineage.durationMs / 1000).toFixed(1)} s` : '') +
        `: registered ${registered.model} v${registered.version}`,
    );
    return { trainingJobId: row.id, status: 'succeeded', modelVersion: registered };
  }

  private async handleFailure(job: Job, id: string, e: unknown): Promise<TrainingRunJobResult> {
    const err = e as Error & { field?: string };
    if (err?.name === 'TrainingCancelledError' || (e instanceof JobFailure && e.code === 'CANCELLED')) return this.markCancelled(id);
    if (err?.name === 'TrainingSpecError') return this.fail(id, 'INVALID_SPEC', err.message);
    if (e instanceof JobFailure) return this.fail(id, e.code, e.message);
    if (err?.name === 'CheckpointMismatchError') {
      await this.jobs.update({ id }, { checkpointSha256: null, checkpointEpoch: null, history: [] });
    }
    const attempts = job.opts.attempts ?? 1;
    if (isLastAttempt(job)) {
      await this.markFailed(id, 'INTERNAL_ERROR', `training failed after ${attempts} attempts: ${err?.message ?? String(e)}`);
    }
    throw e;
  }

  private async fail(id: string, code: string, message: string): Promise<never> {
    await this.markFailed(id, code, message);
    throw new UnrecoverableError(message);
  }

  private async markFailed(id: string, code: string, message: string): Promise<void> {
    await this.rows.fail(id, code, message);
    this.logger.warn({ trainingJobId: id, code }, `training job ${id} failed (${code}): ${message}`);
  }

  private async markCancelled(id: string): Promise<TrainingRunJobResult> {
    await this.rows.markCancelled(id);
    this.logger.log({ trainingJobId: id }, `training job ${id} cancelled`);
    return this.resultOf(await this.jobs.findOneByOrFail({ id }));
  }

  private async resultOf(row: TrainingJobEntity): Promise<TrainingRunJobResult> {
    const status = row.status === 'succeeded' || row.status === 'cancelled' ? row.status : 'failed';
    const mv = row.modelVersionId ? await this.registry.versionById(row.modelVersionId) : null;
    return {
      trainingJobId: row.id,
      status,
      ...(mv ? { modelVersion: { model: mv.model.name, version: mv.version.version } } : {}),
      ...(row.error ? { error: row.error } : {}),
    };
  }
}
