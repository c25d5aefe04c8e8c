import { InjectQueue } from '@nestjs/bullmq';
import { NUL_REASON, nulFieldIn } from '../platform/http/stored-strings';
import { ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { stringify, type Stringifier } from 'csv-stringify';
import { DataSource, In, QueryFailedError, Repository, type EntityManager } from 'typeorm';
import { JobName, jobId, QueueName, type DatasetLineage, type IngestionProcessVersionPayload } from '../contracts';
import { ArtifactStore } from '../platform/artifacts';
import { writeAdminEvent, type AdminActor } from '../platform/audit-trail/admin-event-outbox';
import { KILN_CONFIG, type KilnConfig } from '../platform/config/kiln-config';
import { DatasetCatalog, type ReadyDatasetVersion } from './dataset-catalog';
import { DatasetEntity } from './dataset.entity';
import {
  DatasetVersionEntity,
  type DatasetVersionOptions,
  type DatasetVersionSourceKind,
  type DatasetVersionStatus,
} from './dataset-version.entity';
import { DatasetDto, type AcceptedVersionDto, type DownloadFormat } from './datasets.dto';
import { DatasetReader, IngestInputError, normalizeSchema, type DatasetValue, type ErrorPolicy, type RowPage } from './pipeline';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Decompressed gzip input may be at most this many times the upload limit (gzip-bomb guard; 8 GiB by default). */
export const INFLATE_RATIO_LIMIT = 4;

export interface NewVersion {
  /** Caller-chosen id (queue jobs from batch systems); a fresh UUID otherwise. */
  id?: string;
  datasetId: string;
  status: Extract<DatasetVersionStatus, 'pending' | 'processing'>;
  sourceKind: DatasetVersionSourceKind;
  fileName: string | null;
  format: string | null;
  rawSha256: string;
  rawSizeBytes: number | null;
  options: DatasetVersionOptions;
  lineage?: DatasetLineage | null;
}

/** `<field>: <reason>` for an ingestion input error, without repeating the field. */
export function fieldMessage(e: IngestInputError): { field: string; reason: string; message: string } {
  const reason = e.message.startsWith(`${e.field} `) ? e.message.slice(e.field.length + 1) : e.message;
  return { field: e.field, reason, message: `${e.field}: ${reason}` };
}

export function isUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID.test(v);
}

export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const d = (e instanceof QueryFailedError ? e.driverError : e) as { code?: string; constraint?: string } | undefined;
  return d?.code === '23505' && (constraint === undefined || d.constraint === constraint);
}

/**
 * Checks the ingestion options (from a JSON body, multipart fields or a queue payload) before any
 * work is queued, so a bad schema or policy is a 400 at once. Throws `IngestInputError`.
 */
export function checkVersionOptions(input: { schema?: unknown; errorPolicy?: unknown; nullTokens?: unknown }): DatasetVersionOptions {
  const out: DatasetVersionOptions = {};
  // Options are stored (jsonb) and PostgreSQL holds no U+0000.
  const nul = nulFieldIn({ schema: input.schema, nullTokens: input.nullTokens }, '');
  if (nul !== null) throw new IngestInputError('OPTIONS_INVALID', nul, `${nul} ${NUL_REASON}`);
  if (input.schema !== undefined && input.schema !== null) {
    normalizeSchema(input.schema);
    out.schema = input.schema as object;
  }
  const p = input.errorPolicy;
  if (p !== undefined && p !== null) {
    if (typeof p !== 'object' || Array.isArray(p)) {
      throw new IngestInputError(
        'ERROR_POLICY_INVALID',
        'errorPolicy',
        'errorPolicy must be an object {mode: "reject" | "drop", maxErrorRate?}',
      );
    }
    const { mode, maxErrorRate, ...rest } = p as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0)
      throw new IngestInputError(
        'ERROR_POLICY_INVALID',
        `errorPolicy.${extra[0]}`,
        `errorPolicy.${extra[0]} is not a known property (mode, maxErrorRate)`,
      );
    if (mode !== 'reject' && mode !== 'drop')
      throw new IngestInputError('ERROR_POLICY_INVALID', 'errorPolicy.mode', 'errorPolicy.mode must be "reject" or "drop"');
    if (maxErrorRate !== undefined) {
      if (mode !== 'reject')
        throw new IngestInputError(
          'ERROR_POLICY_INVALID',
          'errorPolicy.maxErrorRate',
          'errorPolicy.maxErrorRate only applies to mode "reject"',
        );
      if (typeof maxErrorRate !== 'number' || !(maxErrorRate >= 0 && maxErrorRate <= 1)) {
        throw new IngestInputError(
          'ERROR_POLICY_INVALID',
          'errorPolicy.maxErrorRate',
          'errorPolicy.maxErrorRate must be a number between 0 and 1',
        );
      }
    }
    out.errorPolicy = (mode === 'drop' ? { mode } : maxErrorRate === undefined ? { mode } : { mode, maxErrorRate }) as ErrorPolicy;
  }
  const t = input.nullTokens;
  if (t !== undefined && t !== null) {
    if (!Array.isArray(t) || t.some((x) => typeof x !== 'string') || t.length > 100) {
      throw new IngestInputError('OPTIONS_INVALID', 'nullTokens', 'nullTokens must be an array of at most 100 strings');
    }
    out.nullTokens = t as string[];
  }
  return out;
}

/**
 * RFC 4180 CSV through csv-stringify (the csv-parse family): header row, CRLF, quoting as needed.
 * Booleans are written as `true`/`false` (csv-stringify's default is `1`/empty), null as empty.
 */
export function csvStringifier(columns: string[]): Stringifier {
  // quoted_match: a bare LF inside a field must be quoted too, since many readers split records on LF.
  return stringify({ header: true, columns, record_delimiter: 'windows', quoted_match: /[\r\n]/, cast: { boolean: (b) => String(b) } });
}

/**
 * Use cases of the ingestion domain over the database: datasets, version rows (numbered 1, 2, 3…
 * per dataset under a row lock), queueing, and reads of ready versions. Also the `DatasetCatalog`
 * read facade other domains use.
 */
@Injectable()
export class DatasetsService extends DatasetCatalog {
  private readonly logger = new Logger(DatasetsService.name);

  constructor(
    @InjectRepository(DatasetEntity) private readonly datasets: Repository<DatasetEntity>,
    @InjectRepository(DatasetVersionEntity) private readonly versions: Repository<DatasetVersionEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly artifacts: ArtifactStore,
    @InjectQueue(QueueName.Ingestion) private readonly queue: Queue,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
  ) {
    super();
  }

  /** Cap on the decompressed size of gzip input. */
  get maxInflatedBytes(): number {
    return this.config.http.uploadLimitBytes * INFLATE_RATIO_LIMIT;
  }

  get uploadLimitBytes(): number {
    return this.config.http.uploadLimitBytes;
  }

  // ---- datasets

  /** Creates a dataset and its `dataset.created` event in one transaction (both or neither). */
  async createDataset(name: string, description: string | null, actor: AdminActor): Promise<DatasetDto> {
    const entity = this.datasets.create({ id: randomUUID(), name, description, versionCount: 0 });
    try {
      return await this.dataSource.transaction(async (m) => {
        await m.insert(DatasetEntity, entity);
        const created = DatasetDto.from(await m.findOneByOrFail(DatasetEntity, { id: entity.id }));
        const target = { datasetId: created.id, name: created.name };
        await writeAdminEvent(m, actor, { action: 'dataset.created', target, before: null, after: created });
        return created;
      });
    } catch (e) {
      if (isUniqueViolation(e, 'datasets_name_key'))
        throw new ConflictException(`name: a dataset named ${JSON.stringify(name)} already exists`);
      throw e;
    }
  }

  /**
   * The dataset with this name, created (empty) when there is none; its id. A creation writes its
   * `dataset.created` event (by `actor`) in the same transaction; finding one writes none.
   */
  async ensureDataset(name: string, description: string | null, actor: AdminActor): Promise<string> {
    const found = await this.datasets.findOneBy({ name });
    if (found) return found.id;
    try {
      return (await this.createDataset(name, description, actor)).id;
    } catch (e) {
      if (!(e instanceof ConflictException)) throw e;
      return (await this.datasets.findOneByOrFail({ name })).id; // created concurrently
    }
  }

  async listDatasets(): Promise<DatasetDto[]> {
    const all = await this.datasets.find({ order: { createdAt: 'ASC', name: 'ASC' } });
    if (all.length === 0) return [];
    const ids = all.map((d) => d.id);
    const latest = await this.latestVersions(ids, false);
    const ready = await this.latestVersions(ids, true);
    return all.map((d) => DatasetDto.from(d, latest.get(d.id) ?? null, ready.get(d.id) ?? null));
  }

  async getDataset(id: string): Promise<DatasetDto> {
    const d = await this.requireDataset(id);
    const latest = await this.latestVersions([id], false);
    const ready = await this.latestVersions([id], true);
    return DatasetDto.from(d, latest.get(id) ?? null, ready.get(id) ?? null);
  }

  async requireDataset(id: string): Promise<DatasetEntity> {
    const d = await this.datasets.findOneBy({ id });
    if (!d) throw new NotFoundException(`dataset ${id} not found`);
    return d;
  }

  private async latestVersions(datasetIds: string[], readyOnly: boolean): Promise<Map<string, DatasetVersionEntity>> {
    const qb = this.versions
      .createQueryBuilder('v')
      .distinctOn(['v.dataset_id'])
      .where({ datasetId: In(datasetIds) })
      .orderBy('v.dataset_id')
      .addOrderBy('v.version', 'DESC');
    if (readyOnly) qb.andWhere(`v.status = 'ready'`);
    const rows = await qb.getMany();
    return new Map(rows.map((v) => [v.datasetId, v]));
  }

  // ---- versions

  /**
   * Inserts a version row with the dataset's next number. The UPDATE … RETURNING takes the dataset
   * row's lock until commit, so concurrent uploads get 1, 2, 3… without gaps or duplicates (and the
   * UNIQUE (dataset_id, version) constraint backs it up). 404 when the dataset does not exist.
   */
  async insertVersion(input: NewVersion, manager?: EntityManager, actor?: AdminActor): Promise<DatasetVersionEntity> {
    const run = async (tx: EntityManager): Promise<DatasetVersionEntity> => {
      const bumped: Array<{ version_count: number }> = await tx.query(
        `UPDATE datasets SET version_count = version_count + 1, updated_at = now() WHERE id = $1 RETURNING version_count`,
        [input.datasetId],
      );
      // The driver returns [rows, affected] for UPDATE … RETURNING.
      const rows = (Array.isArray(bumped[0]) ? bumped[0] : bumped) as Array<{ version_count: number }>;
      if (rows.length === 0) throw new NotFoundException(`dataset ${input.datasetId} not found`);
      const repo = tx.getRepository(DatasetVersionEntity);
      const entity = repo.create({
        id: input.id ?? randomUUID(),
        datasetId: input.datasetId,
        version: rows[0]!.version_count,
        status: input.status,
        sourceKind: input.sourceKind,
        fileName: input.fileName,
        format: input.format,
        rawSha256: input.rawSha256,
        rawSizeBytes: input.rawSizeBytes,
        options: input.options,
        lineage: input.lineage ?? null,
        rowsProcessed: 0,
        errors: [],
        errorCount: 0,
        attempts: 0,
        startedAt: input.status === 'processing' ? new Date() : null,
      });
      await repo.insert(entity);
      const inserted = await repo.findOneByOrFail({ id: entity.id });
      if (actor) {
        const after = acceptedVersion(inserted);
        await writeAdminEvent(tx, actor, { action: 'dataset-version.created', target: { id: input.datasetId }, before: null, after });
      }
      return inserted;
    };
    return manager ? run(manager) : this.dataSource.transaction(run);
  }

  /** Enqueues processing; the job id is derived from the version id, so enqueueing twice is a no-op. */
  async enqueue(versionId: string): Promise<void> {
    const payload: IngestionProcessVersionPayload = { payloadVersion: 1, datasetVersionId: versionId };
    await this.queue.add(JobName.IngestionProcessVersion, payload, { jobId: jobId(JobName.IngestionProcessVersion, versionId) });
  }

  /**
   * Records an upload that is already durable in the artifact store and queues its processing. When
   * the queue cannot be reached the version stays `pending` and the ingestion workers' reconciler
   * queues it later: the upload is acknowledged either way, and never lost. The version's
   * `dataset-version.created` event (by `actor`) commits with its row.
   */
  async acceptVersion(input: NewVersion, actor: AdminActor): Promise<DatasetVersionEntity> {
    const v = await this.insertVersion(input, undefined, actor);
    try {
      await this.enqueue(v.id);
    } catch (e) {
      this.logger.warn({ err: e, versionId: v.id }, 'could not enqueue dataset version processing; the reconciler will retry');
    }
    return v;
  }

  async listVersions(datasetId: string): Promise<DatasetVersionEntity[]> {
    await this.requireDataset(datasetId);
    return this.versions.find({ where: { datasetId }, order: { version: 'ASC' } });
  }

  /** The version once it is ready or failed, or null if it is still unfinished after `timeoutMs`. */
  async waitForVersion(datasetId: string, versionId: string, timeoutMs: number, pollMs = 100): Promise<DatasetVersionEntity | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.getVersion(datasetId, versionId);
      if (v.status === 'ready' || v.status === 'failed') return v;
      if (Date.now() + pollMs > deadline) return null;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async getVersion(datasetId: string, versionId: string): Promise<DatasetVersionEntity> {
    const v = await this.versions.findOneBy({ id: versionId, datasetId });
    if (!v) {
      await this.requireDataset(datasetId);
      throw new NotFoundException(`version ${versionId} of dataset ${datasetId} not found`);
    }
    return v;
  }

  findVersion(versionId: string): Promise<DatasetVersionEntity | null> {
    return this.versions.findOneBy({ id: versionId });
  }

  private requireReadyEntity(
    v: DatasetVersionEntity,
  ): DatasetVersionEntity & { contentHash: string; columns: NonNullable<DatasetVersionEntity['columns']> } {
    if (v.status !== 'ready' || !v.contentHash || !v.columns) {
      const why = v.status === 'failed' ? `failed (${v.failureReason})` : `${v.status}; its rows are available once it is ready`;
      throw new ConflictException(`version ${v.id} (version ${v.version} of dataset ${v.datasetId}) is ${why}`);
    }
    return v as DatasetVersionEntity & { contentHash: string; columns: NonNullable<DatasetVersionEntity['columns']> };
  }

  readerOf(v: DatasetVersionEntity): DatasetReader {
    const ready = this.requireReadyEntity(v);
    return DatasetReader.fromArtifact(this.artifacts, ready.contentHash, ready.columns);
  }

  async rows(datasetId: string, versionId: string, offset: number, limit: number): Promise<RowPage & { limit: number; total: number }> {
    const v = await this.getVersion(datasetId, versionId);
    const reader = this.readerOf(v);
    const page = await reader.readRows(offset, limit);
    return { ...page, limit, total: v.rowCount ?? 0 };
  }

  /** The version's rows as NDJSON or CSV (header row first), streamed chunk by chunk. */
  async download(
    datasetId: string,
    versionId: string,
    format: DownloadFormat,
  ): Promise<{ stream: Readable; version: DatasetVersionEntity }> {
    const v = await this.getVersion(datasetId, versionId);
    const reader = this.readerOf(v);
    const names = v.columns!.map((c) => c.name);
    async function* rows(): AsyncGenerator<Record<string, DatasetValue>> {
      for await (const chunk of reader.chunks({ chunkRows: 8192 })) yield* DatasetReader.rowsOf(chunk);
    }
    async function* ndjson(): AsyncGenerator<string> {
      for await (const chunk of reader.chunks({ chunkRows: 8192 })) {
        let out = '';
        for (const row of DatasetReader.rowsOf(chunk)) out += `${JSON.stringify(row)}\n`;
        yield out;
      }
    }
    const stream = format === 'csv' ? Readable.from(rows()).pipe(csvStringifier(names)) : Readable.from(ndjson(), { objectMode: false });
    return { stream, version: v };
  }

  /** Versions still pending or processing (for the reconciler). */
  unfinishedVersions(olderThan: Date, limit = 1000): Promise<DatasetVersionEntity[]> {
    return this.versions
      .createQueryBuilder('v')
      .where(`v.status IN ('pending', 'processing')`)
      .andWhere('v.created_at < :olderThan', { olderThan })
      .orderBy('v.created_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  // ---- DatasetCatalog (read facade for other domains)

  async getReadyVersion(versionId: string): Promise<ReadyDatasetVersion> {
    const v = isUuid(versionId) ? await this.versions.findOneBy({ id: versionId }) : null;
    if (!v) throw new NotFoundException(`dataset version ${versionId} not found`);
    return this.toReady(v);
  }

  async getLatestReadyVersion(datasetIdOrName: string): Promise<ReadyDatasetVersion> {
    const d = await this.datasets.findOneBy(isUuid(datasetIdOrName) ? { id: datasetIdOrName } : { name: datasetIdOrName });
    if (!d) throw new NotFoundException(`dataset ${datasetIdOrName} not found`);
    const v = (await this.latestVersions([d.id], true)).get(d.id);
    if (!v) throw new ConflictException(`dataset ${d.name} (${d.id}) has no ready version`);
    return this.toReady(v, d);
  }

  async versionIdsOf(datasetOrVersion: string): Promise<string[]> {
    const d = await this.datasets.findOneBy(isUuid(datasetOrVersion) ? { id: datasetOrVersion } : { name: datasetOrVersion });
    if (d) return (await this.versions.find({ where: { datasetId: d.id }, select: { id: true } })).map((v) => v.id);
    return isUuid(datasetOrVersion) && (await this.versions.existsBy({ id: datasetOrVersion })) ? [datasetOrVersion] : [];
  }

  async openReader(versionId: string): Promise<DatasetReader> {
    const v = isUuid(versionId) ? await this.versions.findOneBy({ id: versionId }) : null;
    if (!v) throw new NotFoundException(`dataset version ${versionId} not found`);
    return this.readerOf(v);
  }

  private async toReady(v: DatasetVersionEntity, dataset?: DatasetEntity): Promise<ReadyDatasetVersion> {
    const r = this.requireReadyEntity(v);
    const d = dataset ?? (await this.datasets.findOneByOrFail({ id: v.datasetId }));
    return {
      id: r.id,
      datasetId: r.datasetId,
      datasetName: d.name,
      version: r.version,
      rowCount: r.rowCount!,
      columns: r.columns,
      profile: r.profile!,
      contentHash: r.contentHash,
      lineage: v.lineage ?? null,
      createdAt: r.createdAt,
    };
  }
}

/** The answer to an accepted upload (also the `after` of its `dataset-version.created` event). */
export function acceptedVersion(v: DatasetVersionEntity): AcceptedVersionDto {
  return {
    id: v.id,
    datasetId: v.datasetId,
    version: v.version,
    status: 'pending',
    uploadSha256: v.rawSha256,
    uploadBytes: Number(v.rawSizeBytes ?? 0),
    createdAt: v.createdAt.toISOString(),
  };
}
