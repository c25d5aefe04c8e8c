import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, NotFoundException, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Job, Queue, UnrecoverableError } from 'bullmq';
import { PassThrough, type Readable } from 'node:stream';
import { Repository } from 'typeorm';
import { JobName, jobId, QueueName, type IngestionProcessVersionPayload, type IngestionProcessVersionResult } from '../contracts';
import { ArtifactStore, type ArtifactRef } from '../platform/artifacts';
import { progressLogGate } from '../platform/logging/logging';
import { JobHandlers } from '../platform/queues/job-handlers';
import { isLastAttempt, JobRows } from '../platform/queues/queued-job-row';
import { DATASET_VERSION_JOB_STATES, DatasetVersionEntity } from './dataset-version.entity';
import { checkVersionOptions, DatasetsService, fieldMessage, isUniqueViolation, isUuid, SHA256_HEX } from './datasets.service';
import { IngestInputError, IngestRejectedError, runIngest, type IngestResult, type RowError } from './pipeline';

/** Progress is written to the version row (and the job) at most this often. */
export const PROGRESS_INTERVAL_MS = 500;
/** The reconciler re-queues versions left pending/processing without a live job, this often. */
export const RECONCILE_INTERVAL_MS = 60_000;

/** A permanent failure of one version: recorded on the row, the job is not retried. */
class VersionFailure extends Error {
  constructor(
    readonly code: string,
    readonly field: string | null,
    message: string,
    readonly errors: RowError[] = [],
    readonly errorCount = 0,
  ) {
    super(message);
  }
}

function resultOf(v: DatasetVersionEntity): IngestionProcessVersionResult {
  return {
    datasetVersionId: v.id,
    datasetId: v.datasetId,
    version: v.version,
    status: v.status === 'ready' ? 'ready' : 'failed',
    rowCount: v.rowCount,
    contentHash: v.contentHash,
    ...(v.failureReason ? { failureReason: v.failureReason } : {}),
  };
}

/**
 * Worker of the `ingestion` queue. `ingestion.process-version` (contract in src/contracts/queues.ts):
 * raw upload → runIngest → Arrow IPC artifact (durable) → version `ready` in one UPDATE. A retry
 * redoes the whole pass from the raw upload; the Arrow output of identical input is identical, so a
 * duplicate run stores the same content hash and cannot publish anything different.
 */
@Processor(QueueName.Ingestion)
export class IngestProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(IngestProcessor.name);
  private reconcileTimer: NodeJS.Timeout | null = null;
  private readonly rows: JobRows<DatasetVersionEntity>;
  readonly handlers = new JobHandlers(QueueName.Ingestion, [
    { name: JobName.IngestionProcessVersion, handle: (job) => this.processVersion(job) },
  ]);

  constructor(
    private readonly datasets: DatasetsService,
    private readonly artifacts: ArtifactStore,
    @InjectRepository(DatasetVersionEntity) private readonly versions: Repository<DatasetVersionEntity>,
    @InjectQueue(QueueName.Ingestion) private readonly queue: Queue,
  ) {
    super();
    this.rows = new JobRows(versions, 'dataset version', DATASET_VERSION_JOB_STATES);
  }

  async process(job: Job): Promise<IngestionProcessVersionResult> {
    return this.handlers.dispatch(job);
  }

  private async processVersion(job: Job<IngestionProcessVersionPayload>): Promise<IngestionProcessVersionResult> {
    const p = job.data;
    if (!p || p.payloadVersion !== 1)
      throw new UnrecoverableError(`unsupported payloadVersion ${JSON.stringify(p?.payloadVersion)}; expected 1`);
    if (!isUuid(p.datasetVersionId)) throw new UnrecoverableError('datasetVersionId must be a UUID');
    let v = await this.versions.findOneBy({ id: p.datasetVersionId });
    if (v) {
      if (p.datasetId !== undefined && p.datasetId !== v.datasetId) {
        throw new UnrecoverableError(`datasetVersionId ${v.id} already belongs to dataset ${v.datasetId}, not ${p.datasetId}`);
      }
      if (p.artifactSha256 !== undefined && p.artifactSha256 !== v.rawSha256) {
        throw new UnrecoverableError(`datasetVersionId ${v.id} was created from artifact ${v.rawSha256}, not ${p.artifactSha256}`);
      }
    } else {
      v = await this.createFromPayload(p);
    }
    if (this.rows.isFinished(v)) return resultOf(v); // final: a replay changes nothing

    // Unlike training jobs and batch predictions, a lost claim (another run finished the version) does not stop this run:
    // it redoes the deterministic work and its final UPDATE (where status is 'processing') changes nothing.
    await this.rows.claim(v.id, { rowsProcessed: 0 });
    this.logger.log(
      { versionId: v.id, datasetId: v.datasetId, attempt: job.attemptsMade + 1 },
      `dataset version ${v.id} started: version ${v.version} of dataset ${v.datasetId}` +
        (job.attemptsMade > 0 ? `, attempt ${job.attemptsMade + 1}` : ''),
    );

    try {
      const { result, ref } = await this.ingest(v, job);
      const done = await this.versions.update(
        { id: v.id, status: 'processing' },
        {
          status: 'ready',
          rowCount: result.rowCount,
          totalRows: result.totalRows,
          droppedRows: result.droppedRows,
          rowsProcessed: result.totalRows,
          columns: result.columns,
          profile: result.profile,
          errors: result.errors,
          errorCount: result.errorCount,
          contentHash: ref.sha256,
          dataSizeBytes: ref.size,
          finishedAt: new Date(),
        },
      );
      const final = await this.versions.findOneByOrFail({ id: v.id });
      if (done.affected === 0) this.logger.warn({ versionId: v.id, status: final.status }, 'dataset version was finished by another run');
      else
        this.logger.log(
          { versionId: v.id, rows: result.rowCount, contentHash: ref.sha256 },
          `dataset version ${v.id} ready: ${result.rowCount} rows` + (result.droppedRows ? `, ${result.droppedRows} dropped` : ''),
        );
      return resultOf(final);
    } catch (e) {
      const failure = this.permanentFailure(e);
      if (failure) {
        await this.markFailed(v.id, failure);
        throw new UnrecoverableError(failure.message);
      }
      const attempts = job.opts.attempts ?? 1;
      if (isLastAttempt(job)) {
        const msg = e instanceof Error ? e.message : String(e);
        await this.markFailed(
          v.id,
          new VersionFailure('INTERNAL_ERROR', null, `processing failed after ${attempts} attempts: ${msg}`),
        ).catch((err: unknown) => this.logger.error({ err, versionId: v.id }, 'could not mark the dataset version failed'));
      }
      throw e;
    }
  }

  /** Direct enqueue by a batch system: create the version row (idempotently, keyed by its id). */
  private async createFromPayload(p: IngestionProcessVersionPayload): Promise<DatasetVersionEntity> {
    if (!isUuid(p.datasetId))
      throw new UnrecoverableError(`no dataset version ${p.datasetVersionId} exists, and datasetId (a UUID) is needed to create it`);
    if (typeof p.artifactSha256 !== 'string' || !SHA256_HEX.test(p.artifactSha256)) {
      throw new UnrecoverableError(
        `no dataset version ${p.datasetVersionId} exists, and artifactSha256 (64 lower-case hex) is needed to create it`,
      );
    }
    if (p.fileName !== undefined && (typeof p.fileName !== 'string' || p.fileName.length > 500))
      throw new UnrecoverableError('fileName must be a string of at most 500 characters');
    if (p.format !== undefined && (typeof p.format !== 'string' || p.format.length > 32))
      throw new UnrecoverableError('format must be a string of at most 32 characters');
    const stat = await this.artifacts.stat(p.artifactSha256);
    try {
      return await this.datasets.insertVersion({
        id: p.datasetVersionId,
        datasetId: p.datasetId,
        status: 'processing',
        sourceKind: 'queue',
        fileName: p.fileName ?? null,
        format: p.format ?? null,
        rawSha256: p.artifactSha256,
        rawSizeBytes: stat?.size ?? null,
        options: { schema: p.schema as object | undefined, errorPolicy: p.errorPolicy, nullTokens: p.nullTokens },
        lineage: p.lineage ?? null,
      });
    } catch (e) {
      if (e instanceof NotFoundException) throw new UnrecoverableError(`datasetId: dataset ${p.datasetId} not found`);
      // Two deliveries racing to create the same id: the other one won; use its row.
      if (isUniqueViolation(e, 'dataset_versions_pkey')) return this.versions.findOneByOrFail({ id: p.datasetVersionId });
      throw e;
    }
  }

  private async ingest(v: DatasetVersionEntity, job: Job): Promise<{ result: IngestResult; ref: ArtifactRef }> {
    const options = checkVersionOptions(v.options ?? {});
    if (!(await this.artifacts.stat(v.rawSha256))) {
      throw new VersionFailure(
        'ARTIFACT_NOT_FOUND',
        'artifactSha256',
        `artifactSha256: the raw data ${v.rawSha256} is not in the artifact store`,
      );
    }
    let lastWrite = 0;
    let writes: Promise<unknown> = Promise.resolve();
    const logDue = progressLogGate();
    logDue(); // the start line was just written
    const onProgress = (rows: number): void => {
      if (logDue()) this.logger.log({ versionId: v.id, rowsProcessed: rows }, `dataset version ${v.id}: ${rows} rows read`);
      const now = Date.now();
      if (now - lastWrite < PROGRESS_INTERVAL_MS) return;
      lastWrite = now;
      writes = writes
        .then(() =>
          Promise.all([
            this.versions.update({ id: v.id, status: 'processing' }, { rowsProcessed: rows }),
            job.updateProgress({ rowsProcessed: rows }),
          ]),
        )
        .catch((err: unknown) => this.logger.warn({ err, versionId: v.id }, 'progress update failed'));
    };
    const sink = new PassThrough({ highWaterMark: 1 << 20 });
    const stored = this.artifacts.put(sink);
    stored.catch(() => undefined); // awaited below; the ingest error is the one that matters
    // The pipeline may stop reading early (bad input): close whatever it opened, whatever happens.
    const opened: Readable[] = [];
    let result: IngestResult;
    try {
      result = await runIngest({
        source: async () => {
          const stream = await this.artifacts.get(v.rawSha256);
          opened.push(stream);
          return stream;
        },
        fileName: v.fileName ?? undefined,
        format: v.format ?? undefined,
        schema: options.schema as never,
        errorPolicy: options.errorPolicy,
        nullTokens: options.nullTokens,
        maxInflatedBytes: this.datasets.maxInflatedBytes,
        onProgress,
        sink,
      });
    } finally {
      for (const stream of opened) stream.destroy();
      await writes;
    }
    const ref = await stored; // resolves once the Arrow data is fsync'd under its hash
    await job.updateProgress({ rowsProcessed: result.totalRows }).catch(() => undefined);
    return { result, ref };
  }

  private permanentFailure(e: unknown): VersionFailure | null {
    if (e instanceof VersionFailure) return e;
    if (e instanceof IngestRejectedError) return new VersionFailure(e.code, e.field, fieldMessage(e).message, e.errors, e.errorCount);
    if (e instanceof IngestInputError) return new VersionFailure(e.code, e.field, fieldMessage(e).message);
    return null;
  }

  private async markFailed(id: string, f: VersionFailure): Promise<void> {
    await this.rows.markFailed(id, {
      failureCode: f.code,
      failureField: f.field,
      failureReason: f.message,
      errors: f.errors,
      errorCount: f.errorCount,
    });
    // Bad input is the caller's problem, not the server's: info, not warn.
    this.logger.log({ versionId: id, code: f.code, field: f.field }, `dataset version ${id} failed: ${f.message}`);
  }

  // ---- reconciler: nothing accepted is left behind if an enqueue failed or a job was lost

  onApplicationBootstrap(): void {
    void this.reconcile(new Date());
    this.reconcileTimer = setInterval(() => void this.reconcile(new Date(Date.now() - RECONCILE_INTERVAL_MS)), RECONCILE_INTERVAL_MS);
    this.reconcileTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
  }

  /** Makes sure every pending/processing version created before `olderThan` has a live job. */
  async reconcile(olderThan: Date): Promise<number> {
    let queued = 0;
    try {
      for (const v of await this.datasets.unfinishedVersions(olderThan)) {
        const existing = await this.queue.getJob(jobId(JobName.IngestionProcessVersion, v.id));
        if (!existing) {
          await this.datasets.enqueue(v.id);
          queued++;
        } else if ((await existing.getState()) === 'failed') {
          await existing.retry();
          queued++;
        }
      }
      if (queued > 0) this.logger.log(`re-queued ${queued} unfinished dataset versions`);
    } catch (err) {
      this.logger.warn({ err }, 'dataset version reconciliation failed; will try again');
    }
    return queued;
  }
}
