/**
 * Worker of `QueueName.BatchPredictions` (stored name `batch-inference`): `inference.batch-predict` (contract in src/contracts/queues.ts).
 *
 * The row is the state. At start the model selector is resolved once to a concrete version (kept on
 * the row, so a retry uses it too). The input version is read in chunks, each chunk's feature records
 * go through `InferenceService.predictRecords` (the record API's path: preprocessing, model, target
 * decoding), and the output rows stream as NDJSON into the artifact store; cancellation is checked
 * between chunks and progress is written to the row at most every PROGRESS_WRITE_MS. Then, in one
 * conditional UPDATE that a cancel cannot interleave with, the output dataset version id is fixed on
 * the row, `ingestion.process-version` is enqueued for it (explicit schema, so types are kept) and
 * the job succeeds once that version is ready. Concurrency 1: scoring shares the process's model
 * runtime with online traffic, so batch work never takes more than one slot of it.
 */
import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { HttpException, Logger, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Job, Queue, UnrecoverableError } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import {
  JobName,
  jobId,
  QueueName,
  type InferenceRunBatchPredictionPayload,
  type InferenceRunBatchPredictionResult,
  type IngestionProcessVersionPayload,
  type IngestionProcessVersionResult,
} from '../../contracts';
import { DatasetCatalog, DatasetReader, type ReadyDatasetVersion } from '../../ingestion';
import { ModelRegistry, type ModelVersionEntity } from '../../models';
import { ArtifactStore } from '../../platform/artifacts';
import { ValidationProblemException } from '../../platform/http/validation';
import { JobHandlers } from '../../platform/queues/job-handlers';
import { CancellableJobRows, isLastAttempt } from '../../platform/queues/queued-job-row';
import { InferenceService } from '../inference.service';
import type { ModelSelector, ServedModel } from '../runtime/served-model';
import { DEFAULT_K } from '../recommend/recommend-request';
import { RecommendService } from '../recommend/recommend.service';
import { BatchPredictionEntity } from './batch-prediction.entity';
import {
  featureRecord,
  missingFeatures,
  outputRow,
  outputSchema,
  predictionColumns,
  scoredColumnNames,
  type PredictionColumns,
  type ScoringTarget,
} from './prediction-columns';
import {
  idColumnType,
  RECOMMEND_OUTPUT_COLUMNS,
  recommendationRows,
  recommendOutputSchema,
  type RecommendJobOptions,
} from './recommend-columns';

/** Progress is written to the row (and the queue job) at most this often, plus after the last chunk. */
export const PROGRESS_WRITE_MS = 250;
/** How often the output version is checked while ingestion runs. */
export const OUTPUT_POLL_MS = 200;
/** Longest wait for the output version in one attempt; then the attempt fails and a retry waits again. */
export const OUTPUT_WAIT_MS = 30 * 60_000;

/** Field errors reported on the row at most (a chunk of bad rows can have thousands). */
const MAX_REPORTED_ERRORS = 5;

function briefly(e: HttpException): string {
  if (!(e instanceof ValidationProblemException) || e.errors.length <= MAX_REPORTED_ERRORS) return e.message;
  const shown = e.errors.slice(0, MAX_REPORTED_ERRORS).map((f) => `${f.field}: ${f.reason}`);
  return `${shown.join('; ')}; … and ${e.errors.length - MAX_REPORTED_ERRORS} more`;
}

/** A permanent failure: recorded on the row, the queue job is not retried. */
class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

class CancelledError extends Error {}

@Processor(QueueName.BatchPredictions, { concurrency: 1 })
export class BatchPredictionsProcessor extends WorkerHost {
  private readonly logger = new Logger(BatchPredictionsProcessor.name);
  private readonly rows: CancellableJobRows<BatchPredictionEntity>;
  readonly handlers = new JobHandlers(QueueName.BatchPredictions, [
    { name: JobName.InferenceRunBatchPrediction, handle: (job) => this.run(job) },
  ]);

  constructor(
    @InjectRepository(BatchPredictionEntity) private readonly jobs: Repository<BatchPredictionEntity>,
    @InjectQueue(QueueName.Ingestion) private readonly ingestion: Queue,
    private readonly catalog: DatasetCatalog,
    private readonly registry: ModelRegistry,
    private readonly inference: InferenceService,
    private readonly artifacts: ArtifactStore,
    private readonly recommendations: RecommendService,
  ) {
    super();
    this.rows = new CancellableJobRows(jobs, 'batch prediction');
  }

  async process(job: Job): Promise<InferenceRunBatchPredictionResult> {
    return this.handlers.dispatch(job);
  }

  private async run(job: Job<InferenceRunBatchPredictionPayload>): Promise<InferenceRunBatchPredictionResult> {
    const p = job.data;
    if (!p || p.payloadVersion !== 1)
      throw new UnrecoverableError(`unsupported payloadVersion ${JSON.stringify(p?.payloadVersion)}; expected 1`);
    const row = typeof p.batchPredictionId === 'string' ? await this.jobs.findOneBy({ id: p.batchPredictionId }).catch(() => null) : null;
    if (!row) throw new UnrecoverableError(`batchPredictionId: batch prediction ${String(p.batchPredictionId)} not found`);
    if (this.rows.isFinished(row)) return this.resultOf(row);
    if (row.cancelRequested) return this.markCancelled(row.id);

    if (!(await this.rows.claim(row.id))) return this.resultOf(await this.jobs.findOneByOrFail({ id: row.id }));

    try {
      let current = await this.jobs.findOneByOrFail({ id: row.id });
      if (!current.outputDatasetVersionId) {
        const handedOff = await this.scoreAndHandOff(job, current);
        if (!handedOff) return await this.markCancelled(row.id);
        current = handedOff;
      }
      const output = await this.ingestOutput(current);
      return await this.markSucceeded(current, output);
    } catch (e) {
      return await this.handleFailure(job, row.id, e);
    }
  }

  /** Scores every row into an NDJSON artifact, then fixes the output version id; null when cancelled first. */
  private async scoreAndHandOff(job: Job, row: BatchPredictionEntity): Promise<BatchPredictionEntity | null> {
    const { served, registered } = await this.resolveModel(row);
    const input = await this.readyInput(row.datasetVersionId);
    if (row.recommend || served.task === 'recommendation') return this.recommendAndHandOff(job, row, served, registered, input);
    const features = served.features;
    if (!features || features.length === 0) {
      throw new JobFailure(
        'MODEL_UNSUPPORTED',
        `model: version ${served.version} of model ${served.name} has no named features (an imported model); ` +
          `batch scoring needs a Kiln-trained model`,
      );
    }
    const missing = missingFeatures(
      features,
      input.columns.map((c) => c.name),
    );
    if (missing.length > 0) {
      throw new JobFailure(
        'DATASET_MISSING_FEATURES',
        `datasetVersionId: dataset version ${input.id} lacks the feature column(s) ${missing.map((m) => `'${m}'`).join(', ')} ` +
          `of version ${served.version} of model ${served.name}`,
      );
    }
    const cols = this.columnsFor(served, input);
    await this.startScoring(row, served, input.rowCount, { predictionColumns: cols });

    // acted on between chunks
    let cancelRequested = false;
    const stopWatching = this.rows.watchCancel(row.id, () => (cancelRequested = true));
    try {
      const reader = await this.catalog.openReader(input.id);
      const ref = await this.artifacts.put(this.scoredNdjson(job, row, served, reader, cols, () => cancelRequested));
      return await this.handOff(
        row,
        ref.sha256,
        input.rowCount,
        { rows: input.rowCount, model: served.name, version: served.version },
        'batch prediction scored; output handed to ingestion',
      );
    } finally {
      stopWatching();
    }
  }

  /**
   * A recommender version: every distinct user of the input's user column (in order of first
   * appearance) gets their top-K list, `chunkSize` users per model call (RecommendService.recommendUsers);
   * progress counts users. Then, as for predictions, the output version id is fixed and handed to ingestion.
   */
  private async recommendAndHandOff(
    job: Job,
    row: BatchPredictionEntity,
    served: ServedModel,
    registered: ModelVersionEntity,
    input: ReadyDatasetVersion,
  ): Promise<BatchPredictionEntity | null> {
    const userColumn = registered.recommender?.columns.user;
    if (served.task !== 'recommendation' || !userColumn)
      throw new JobFailure('MODEL_UNSUPPORTED', `model: version ${served.version} of model ${served.name} is not a recommender`);
    const column = input.columns.find((c) => c.name === userColumn);
    if (!column)
      throw new JobFailure(
        'DATASET_MISSING_FEATURES',
        `datasetVersionId: dataset version ${input.id} lacks the user column '${userColumn}' ` +
          `of version ${served.version} of model ${served.name}`,
      );
    const options: RecommendJobOptions = {
      ...(row.recommend ?? { k: DEFAULT_K, filterSeen: true, exclude: [] }),
      userColumn,
      userType: idColumnType(column),
      itemType: await this.itemType(registered),
    };
    let cancelRequested = false;
    const stopWatching = this.rows.watchCancel(row.id, () => (cancelRequested = true));
    try {
      const users = await this.distinctUsers(input, userColumn, () => cancelRequested);
      await this.startScoring(row, served, users.length, { recommend: options });
      const ref = await this.artifacts.put(this.recommendedNdjson(job, row, served, users, options, () => cancelRequested));
      return await this.handOff(
        row,
        ref.sha256,
        users.length,
        { users: users.length, k: options.k, model: served.name, version: served.version },
        'batch recommendations written; output handed to ingestion',
      );
    } finally {
      stopWatching();
    }
  }

  /** The row enters scoring with its resolved version and `total` rows (or users) to go; `fields`: what the kind of job fixes now. */
  private async startScoring(
    row: BatchPredictionEntity,
    served: ServedModel,
    total: number,
    fields: Pick<Partial<BatchPredictionEntity>, 'predictionColumns' | 'recommend'>,
  ): Promise<void> {
    await this.jobs.update(
      { id: row.id, status: 'running' },
      { modelVersion: served.version, modelVersionId: served.versionId, ...fields, phase: 'scoring', rowsProcessed: 0, totalRows: total },
    );
  }

  /**
   * Fixes the output version id on the row in one conditional UPDATE that a cancel cannot interleave
   * with, `processed` rows (or users) done; null when a cancel came first. `logged`: what the log line adds.
   */
  private async handOff(
    row: BatchPredictionEntity,
    outputSha256: string,
    processed: number,
    logged: Record<string, unknown>,
    message: string,
  ): Promise<BatchPredictionEntity | null> {
    const handoff = await this.jobs.update(
      { id: row.id, status: 'running', cancelRequested: false, outputDatasetVersionId: IsNull() },
      { outputDatasetVersionId: randomUUID(), outputArtifactSha256: outputSha256, phase: 'ingesting', rowsProcessed: processed },
    );
    if (!handoff.affected) return null;
    this.logger.log({ batchPredictionId: row.id, ...logged }, message);
    return this.jobs.findOneByOrFail({ id: row.id });
  }

  /** The item ids' output type: integer when the version's index holds numeric item ids (an integer item column). */
  private async itemType(registered: ModelVersionEntity): Promise<'integer' | 'string'> {
    const sha = registered.recommender?.indexSha256;
    if (!sha) return 'string';
    const index = JSON.parse((await this.artifacts.getBuffer(sha)).toString('utf8')) as { itemIdType?: string };
    return index.itemIdType === 'number' ? 'integer' : 'string';
  }

  /** Distinct non-null values of the user column, as the input holds them, in order of first appearance. */
  private async distinctUsers(input: ReadyDatasetVersion, column: string, cancelled: () => boolean): Promise<Array<string | number>> {
    const seen = new Set<string>();
    const users: Array<string | number> = [];
    const reader = await this.catalog.openReader(input.id);
    for await (const chunk of reader.chunks({ chunkRows: 10_000, columns: [column] })) {
      if (cancelled()) throw new CancelledError('cancelled');
      for (const r of DatasetReader.rowsOf(chunk)) {
        const v = r[column];
        if (v === null || v === undefined || (typeof v !== 'string' && typeof v !== 'number')) continue;
        const key = String(v);
        if (seen.has(key)) continue;
        seen.add(key);
        users.push(v);
      }
    }
    return users;
  }

  /** Each user's list as NDJSON rows, `chunkSize` users per audited model call; progress and cancellation between calls. */
  private async *recommendedNdjson(
    job: Job,
    row: BatchPredictionEntity,
    served: ServedModel,
    users: ReadonlyArray<string | number>,
    options: RecommendJobOptions,
    cancelled: () => boolean,
  ): AsyncGenerator<Buffer> {
    const selector: ModelSelector = { version: served.version };
    let lastWrite = 0;
    let done = 0;
    const writeProgress = async (): Promise<void> => {
      lastWrite = performance.now();
      await this.jobs.update({ id: row.id, status: 'running' }, { rowsProcessed: done });
      await job.updateProgress({ phase: 'scoring', usersProcessed: done, totalUsers: users.length }).catch(() => undefined);
    };
    for (let start = 0, chunkIndex = 0; start < users.length; start += row.chunkSize, chunkIndex++) {
      if (cancelled()) throw new CancelledError('cancelled');
      const part = users.slice(start, start + row.chunkSize);
      let answer;
      try {
        answer = await this.recommendations.recommendUsers(served.name, selector, part.map(String), options, {
          protocol: 'batch',
          requestId: `${row.id}:${chunkIndex}`,
        });
      } catch (e) {
        if (e instanceof HttpException && e.getStatus() >= 400 && e.getStatus() < 500)
          throw new JobFailure('PREDICT_REJECTED', `the model rejected users ${start}..${start + part.length - 1}: ${briefly(e)}`);
        throw e;
      }
      if (answer.model.version !== served.version)
        throw new Error(`chunk ${chunkIndex} was scored by version ${answer.model.version}, not ${served.version}`);
      const lines: string[] = [];
      answer.lists.forEach((list, n) => {
        for (const r of recommendationRows(part[n]!, list.items, list.fallback)) lines.push(JSON.stringify(r));
      });
      if (lines.length) yield Buffer.from(lines.join('\n') + '\n');
      done += part.length;
      if (performance.now() - lastWrite >= PROGRESS_WRITE_MS) await writeProgress();
    }
    if (cancelled()) throw new CancelledError('cancelled');
    await writeProgress();
  }

  /** Input rows + prediction columns as NDJSON, one chunk per model call; progress and cancellation between chunks. */
  private async *scoredNdjson(
    job: Job,
    row: BatchPredictionEntity,
    served: ServedModel,
    reader: DatasetReader,
    cols: PredictionColumns,
    cancelled: () => boolean,
  ): AsyncGenerator<Buffer> {
    const features = served.features!;
    const selector: ModelSelector = { version: served.version };
    let rowsProcessed = 0;
    let chunkIndex = 0;
    let lastWrite = 0;
    const writeProgress = async (): Promise<void> => {
      lastWrite = performance.now();
      await this.jobs.update({ id: row.id, status: 'running' }, { rowsProcessed });
      await job.updateProgress({ phase: 'scoring', rowsProcessed, totalRows: row.totalRows }).catch(() => undefined);
    };
    for await (const chunk of reader.chunks({ chunkRows: row.chunkSize })) {
      if (cancelled()) throw new CancelledError('cancelled');
      const rows = DatasetReader.rowsOf(chunk);
      const result = await this.predict(
        served,
        selector,
        rows.map((r) => featureRecord(r, features)),
        `${row.id}:${chunkIndex}`,
        chunk.offset,
      );
      if (result.model.version !== served.version)
        throw new Error(`chunk ${chunkIndex} was scored by version ${result.model.version}, not ${served.version}`);
      if (result.predictions.length !== rows.length)
        throw new Error(`chunk ${chunkIndex}: ${result.predictions.length} predictions for ${rows.length} rows`);
      yield Buffer.from(rows.map((r, i) => JSON.stringify(outputRow(r, result.predictions[i]!, cols))).join('\n') + '\n');
      rowsProcessed += rows.length;
      chunkIndex++;
      if (performance.now() - lastWrite >= PROGRESS_WRITE_MS) await writeProgress();
    }
    if (cancelled()) throw new CancelledError('cancelled');
    await writeProgress();
  }

  /**
   * The record API's path; a 4xx from the runtime (a value that does not fit a feature, model gone) is
   * permanent. Its `records.<i>` fields index the chunk, which starts at dataset row `offset`.
   */
  private async predict(served: ServedModel, selector: ModelSelector, records: unknown[], requestId: string, offset: number) {
    try {
      return await this.inference.predictRecords(served.name, selector, records, { protocol: 'batch', requestId });
    } catch (e) {
      if (e instanceof HttpException && e.getStatus() >= 400 && e.getStatus() < 500) {
        throw new JobFailure(
          'PREDICT_REJECTED',
          `the model rejected rows ${offset}..${offset + records.length - 1} of the input (records.<i> = row ${offset} + i): ${briefly(e)}`,
        );
      }
      throw e;
    }
  }

  /** Once per job: a retry reuses the version recorded by the first attempt, so one version scores every row. */
  private async resolveModel(row: BatchPredictionEntity): Promise<{ served: ServedModel; registered: ModelVersionEntity }> {
    const selector: ModelSelector =
      row.modelVersion !== null
        ? { version: row.modelVersion }
        : row.requestedVersion !== null
          ? { version: row.requestedVersion }
          : { alias: row.requestedAlias! };
    let served: ServedModel;
    try {
      served = await this.inference.describe(row.modelName, selector);
    } catch (e) {
      if (e instanceof HttpException && e.getStatus() >= 400 && e.getStatus() < 500)
        throw new JobFailure('MODEL_UNAVAILABLE', `model: ${e.message}`);
      throw e;
    }
    const registered = await this.registry.getVersion(row.modelName, served.version).catch((e: unknown) => {
      throw e instanceof NotFoundException ? new JobFailure('MODEL_UNAVAILABLE', `model: ${e.message}`) : e;
    });
    if (registered.version.status !== 'active') {
      throw new JobFailure(
        'MODEL_UNAVAILABLE',
        `model: version ${served.version} of model ${row.modelName} is ${registered.version.status}`,
      );
    }
    return { served, registered: registered.version };
  }

  private columnsFor(served: ServedModel, input: ReadyDatasetVersion): PredictionColumns {
    const task = served.task ?? served.target?.task ?? null;
    if (!task)
      throw new JobFailure('MODEL_UNSUPPORTED', `model: version ${served.version} of model ${served.name} has no task (no target spec)`);
    if (task === 'recommendation')
      throw new JobFailure(
        'MODEL_UNSUPPORTED',
        `model: version ${served.version} of model ${served.name} is a recommender; ask it through /recommend`,
      );
    const target: ScoringTarget = { task, classes: served.target?.classes, positiveClass: served.target?.positiveClass };
    try {
      const cols = predictionColumns(
        target,
        input.columns.map((c) => c.name),
      );
      return served.target?.name !== undefined ? { ...cols, target: served.target.name } : cols;
    } catch (e) {
      throw new JobFailure('MODEL_UNSUPPORTED', `model: version ${served.version} of model ${served.name}: ${(e as Error).message}`);
    }
  }

  private async readyInput(id: string): Promise<ReadyDatasetVersion> {
    try {
      return await this.catalog.getReadyVersion(id);
    } catch (e) {
      throw new JobFailure('DATASET_UNAVAILABLE', `datasetVersionId: ${(e as Error).message}`);
    }
  }

  /**
   * Enqueues `ingestion.process-version` for the output (idempotent: the job id is the version id) and
   * waits for the version. The ingestion job may be gone (kept 7 days / 1000): the version row decides
   * then, and a missing job for a version not yet final is enqueued again.
   */
  private async ingestOutput(row: BatchPredictionEntity): Promise<{ rowCount: number }> {
    const versionId = row.outputDatasetVersionId!;
    const input = await this.readyInput(row.datasetVersionId);
    const payload: IngestionProcessVersionPayload = {
      payloadVersion: 1,
      datasetVersionId: versionId,
      datasetId: row.outputDatasetId,
      artifactSha256: row.outputArtifactSha256!,
      fileName: `batch-prediction-${row.id}.ndjson`,
      format: 'ndjson',
      schema: { columns: row.recommend ? recommendOutputSchema(row.recommend) : outputSchema(input.columns, row.predictionColumns!) },
      errorPolicy: { mode: 'reject' },
      lineage: {
        kind: 'batch-scoring',
        batchPredictionId: row.id,
        model: row.modelName,
        modelVersion: row.modelVersion!,
        target: row.recommend ? null : (row.predictionColumns!.target ?? null),
        inputDatasetId: input.datasetId,
        inputDatasetVersionId: input.id,
        scoredColumns: row.recommend ? [...RECOMMEND_OUTPUT_COLUMNS] : scoredColumnNames(row.predictionColumns!),
      },
    };
    const id = jobId(JobName.IngestionProcessVersion, versionId);
    const deadline = Date.now() + OUTPUT_WAIT_MS;
    for (;;) {
      const ready = await this.catalog.getReadyVersion(versionId).catch(() => null);
      if (ready) return { rowCount: ready.rowCount };
      const ingestJob = await this.ingestion.getJob(id);
      if (!ingestJob) {
        await this.ingestion.add(JobName.IngestionProcessVersion, payload, { jobId: id });
      } else {
        const state = await ingestJob.getState();
        if (state === 'failed')
          throw new JobFailure(
            'OUTPUT_REJECTED',
            `ingestion of the output (dataset version ${versionId}) failed: ${ingestJob.failedReason}`,
          );
        if (state === 'completed') {
          const result = ((await this.ingestion.getJob(id))?.returnvalue ?? null) as IngestionProcessVersionResult | null;
          if (result?.status === 'failed')
            throw new JobFailure(
              'OUTPUT_REJECTED',
              `ingestion of the output (dataset version ${versionId}) failed: ${result.failureReason}`,
            );
        }
      }
      if (Date.now() > deadline)
        throw new Error(
          `the output dataset version ${versionId} was not ready within ${OUTPUT_WAIT_MS} ms (is an ingestion worker running?)`,
        );
      await new Promise((r) => setTimeout(r, OUTPUT_POLL_MS));
    }
  }

  private async markSucceeded(row: BatchPredictionEntity, output: { rowCount: number }): Promise<InferenceRunBatchPredictionResult> {
    await this.jobs.update(
      { id: row.id, status: 'running' },
      // recommenders count users (the output has k rows per user)
      { status: 'succeeded', phase: null, rowsProcessed: row.recommend ? row.rowsProcessed : output.rowCount, finishedAt: new Date() },
    );
    this.logger.log({ batchPredictionId: row.id, outputDatasetVersionId: row.outputDatasetVersionId }, 'batch prediction succeeded');
    return this.resultOf(await this.jobs.findOneByOrFail({ id: row.id }));
  }

  private async handleFailure(job: Job, id: string, e: unknown): Promise<InferenceRunBatchPredictionResult> {
    if (e instanceof CancelledError) return this.markCancelled(id);
    if (e instanceof JobFailure) {
      await this.markFailed(id, e.code, e.message);
      throw new UnrecoverableError(e.message);
    }
    const attempts = job.opts.attempts ?? 1;
    const message = e instanceof Error ? e.message : String(e);
    if (isLastAttempt(job)) await this.markFailed(id, 'INTERNAL_ERROR', `batch prediction failed after ${attempts} attempts: ${message}`);
    else this.logger.warn({ batchPredictionId: id, attempt: job.attemptsMade + 1, err: e }, 'batch prediction attempt failed; retrying');
    throw e;
  }

  private async markFailed(id: string, code: string, message: string): Promise<void> {
    await this.rows.fail(id, code, message);
    this.logger.warn({ batchPredictionId: id, code }, `batch prediction failed: ${message}`);
  }

  private async markCancelled(id: string): Promise<InferenceRunBatchPredictionResult> {
    await this.rows.markCancelled(id, { where: { outputDatasetVersionId: IsNull() }, set: { phase: null } });
    return this.resultOf(await this.jobs.findOneByOrFail({ id }));
  }

  private resultOf(row: BatchPredictionEntity): InferenceRunBatchPredictionResult {
    const status = row.status === 'succeeded' || row.status === 'cancelled' ? row.status : 'failed';
    return {
      batchPredictionId: row.id,
      status,
      ...(row.modelVersion !== null ? { modelVersion: { model: row.modelName, version: row.modelVersion } } : {}),
      outputDatasetId: row.outputDatasetId,
      ...(status === 'succeeded' && row.outputDatasetVersionId
        ? { outputDatasetVersionId: row.outputDatasetVersionId, rowCount: row.rowsProcessed }
        : {}),
      ...(row.error ? { error: row.error } : {}),
    };
  }
}
