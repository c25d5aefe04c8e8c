import { actorOf, type AdminActor } from '../platform/audit-trail/admin-event-outbox';
import { Audited } from '../platform/audit-trail/audited.decorator';
import type { AuthenticatedRequest } from '../platform/auth/api-key.guard';
import type { Multipart, MultipartFile } from '@fastify/multipart';
import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpException,
  Param,
  ParseUUIDPipe,
  PayloadTooLargeException,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
  UnprocessableEntityException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiHeader,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { ArtifactStore, transientFileAnswer } from '../platform/artifacts';
import { Roles } from '../platform/auth';
import { ValidationProblemException } from '../platform/http/validation';
import { pollUntil } from '../platform/util/poll';
import { NUL_REASON } from '../platform/http/stored-strings';
import type { DatasetVersionOptions } from './dataset-version.entity';
import {
  AcceptedVersionDto,
  CreateDatasetDto,
  CreateVersionFromRecordsDto,
  CreateVersionUploadDto,
  DatasetDto,
  DatasetVersionDto,
  DownloadQueryDto,
  RowsPageDto,
  RowsQueryDto,
} from './datasets.dto';
import { DatasetsPort } from './datasets.port';
import { checkVersionOptions, DatasetsService, fieldMessage } from './datasets.service';
import { IngestInputError, resolveFormat } from './pipeline';

/** Longest synchronous wait a client may ask for with `Prefer: wait=N`. */
const MAX_WAIT_SECONDS = 60;

/** Seconds from an RFC 7240 `Prefer: wait=N` header (capped), or 0 when absent. */
export function preferredWaitSeconds(prefer: string | undefined): number {
  const m = /(?:^|[,;\s])wait\s*=\s*(\d+)/i.exec(prefer ?? '');
  return m ? Math.min(Number(m[1]), MAX_WAIT_SECONDS) : 0;
}

/** Multipart fields accepted besides `file`; they must come before the file part. */
const OPTION_FIELDS = ['format', 'schema', 'errorPolicy', 'nullTokens'] as const;
type OptionField = (typeof OPTION_FIELDS)[number];
const RECORDS_BODY_KEYS = ['records', 'schema', 'errorPolicy', 'nullTokens'];

/** Maps a pipeline input error to the HTTP error it suggests, with a message naming the field. */
export function ingestHttpError(e: IngestInputError): HttpException {
  const { reason, message } = fieldMessage(e);
  switch (e.status) {
    case 400:
      return new ValidationProblemException([{ field: e.field, reason }]);
    case 413:
      return new PayloadTooLargeException(message);
    case 415:
      return new UnsupportedMediaTypeException(message);
    case 422:
      return new UnprocessableEntityException(message);
  }
}

function rethrowInputError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof IngestInputError ? ingestHttpError(e) : e;
  }
}

function parseJsonField(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationProblemException([{ field, reason: `must be JSON text (${(e as Error).message})` }]);
  }
}

@ApiTags('datasets')
@Roles('developer')
@Controller('api/datasets')
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly artifacts: ArtifactStore,
    private readonly port: DatasetsPort,
  ) {}

  @Post()
  @Audited('dataset.created')
  @ApiOperation({ summary: 'Create a dataset (names are unique: 409 on a duplicate)' })
  @ApiResponse({ status: 201, type: DatasetDto })
  create(@Body() body: CreateDatasetDto, @Req() req: AuthenticatedRequest): Promise<DatasetDto> {
    return this.port.createDataset(body.name, body.description ?? null, actorOf(req));
  }

  @Get()
  @ApiOperation({ summary: 'List datasets with their latest versions' })
  @ApiResponse({ status: 200, type: [DatasetDto] })
  list(): Promise<DatasetDto[]> {
    return this.port.listDatasets();
  }

  @Get(':id')
  @ApiResponse({ status: 200, type: DatasetDto })
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<DatasetDto> {
    return this.port.getDataset(id);
  }

  @Post(':id/versions')
  @Audited('dataset-version.created')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Upload a new version (multipart field "file", or JSON {records}); 202 once the upload is durable',
    description:
      'Multipart: optional fields format, schema (JSON), errorPolicy (JSON), nullTokens (JSON) BEFORE the file part "file" ' +
      '(CSV with a header row, TSV, NDJSON or a JSON array of objects; gzip accepted; format from the file name unless given). ' +
      'JSON: {records: [...objects], schema?, errorPolicy?, nullTokens?} for small data. Processing is asynchronous: ' +
      'poll the version until status is ready or failed (failureReason).',
  })
  @ApiConsumes('multipart/form-data', 'application/json')
  @ApiExtraModels(CreateVersionUploadDto, CreateVersionFromRecordsDto)
  @ApiBody({ schema: { oneOf: [{ $ref: getSchemaPath(CreateVersionUploadDto) }, { $ref: getSchemaPath(CreateVersionFromRecordsDto) }] } })
  @ApiResponse({ status: 202, type: AcceptedVersionDto })
  @ApiHeader({
    name: 'prefer',
    required: false,
    description:
      `wait=N (RFC 7240, N ≤ ${MAX_WAIT_SECONDS}): answer when processing ends instead of 202 — ` +
      `201 with the ready version, or 422 naming the problem; 202 if it takes longer`,
  })
  @ApiResponse({ status: 201, type: DatasetVersionDto, description: 'with Prefer: wait=N, the version became ready in time' })
  @ApiResponse({ status: 422, description: 'with Prefer: wait=N, the data was refused (failureReason, failureCode, rowErrors)' })
  async createVersion(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: AuthenticatedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('prefer') prefer?: string,
  ): Promise<AcceptedVersionDto | DatasetVersionDto> {
    await this.port.getDataset(id); // 404 before reading any upload
    const waitSeconds = preferredWaitSeconds(prefer);
    let accepted: AcceptedVersionDto;
    if (req.isMultipart()) {
      accepted = await this.fromUpload(id, req, actorOf(req));
    } else {
      const type = String(req.headers['content-type'] ?? '');
      if (!/^application\/(.+\+)?json\b/i.test(type)) {
        throw new UnsupportedMediaTypeException(
          'content-type: send multipart/form-data with the data in the field "file", or application/json {records: [...]}',
        );
      }
      accepted = await this.fromRecords(id, req.body, actorOf(req));
    }
    if (!waitSeconds) return accepted;
    const settled = await this.waitForVersion(id, accepted.id, waitSeconds * 1000);
    void reply.header('preference-applied', `wait=${waitSeconds}`);
    if (settled?.status === 'ready') {
      void reply.status(201);
      return settled;
    }
    if (settled?.status === 'failed') {
      throw new UnprocessableEntityException({
        message: settled.failureReason ?? 'the data was refused',
        versionId: settled.id,
        failureCode: settled.failureCode,
        failureField: settled.failureField,
        rowErrors: settled.errors ?? [],
        rowErrorCount: settled.errorCount ?? 0,
      });
    }
    return accepted; // still processing: 202 as without the preference
  }

  @Get(':id/versions')
  @ApiResponse({ status: 200, type: [DatasetVersionDto] })
  async listVersions(@Param('id', new ParseUUIDPipe()) id: string): Promise<DatasetVersionDto[]> {
    return this.port.listVersions(id);
  }

  @Get(':id/versions/:versionId')
  @ApiResponse({ status: 200, type: DatasetVersionDto })
  async getVersion(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('versionId', new ParseUUIDPipe()) versionId: string,
  ): Promise<DatasetVersionDto> {
    return this.port.getVersion(id, versionId);
  }

  @Get(':id/versions/:versionId/rows')
  @ApiOperation({ summary: 'Preview rows of a ready version (paginated; 409 while not ready)' })
  @ApiResponse({ status: 200, type: RowsPageDto })
  async rows(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('versionId', new ParseUUIDPipe()) versionId: string,
    @Query() query: RowsQueryDto,
  ): Promise<RowsPageDto> {
    return this.port.rows(id, versionId, query.offset ?? 0, query.limit ?? 100);
  }

  @Get(':id/versions/:versionId/download')
  @ApiOperation({ summary: 'Download a ready version as NDJSON (default) or CSV, streamed' })
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiResponse({
    status: 200,
    description: 'The rows, one JSON object per line (ndjson) or CSV with a header row',
    content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } },
  })
  async download(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('versionId', new ParseUUIDPipe()) versionId: string,
    @Query() query: DownloadQueryDto,
  ): Promise<StreamableFile> {
    // Rendered into the artifact store by the ingestion side; only the reference crosses the transport.
    const file = await this.port.download(id, versionId, query.format ?? 'ndjson');
    return transientFileAnswer(this.artifacts, file);
  }

  /** The version once ready or failed (one short read per 100 ms through the port, `pollUntil`), or null at the deadline. */
  private waitForVersion(datasetId: string, versionId: string, timeoutMs: number): Promise<DatasetVersionDto | null> {
    return pollUntil(async () => {
      const v = await this.port.getVersion(datasetId, versionId);
      return v.status === 'ready' || v.status === 'failed' ? v : null;
    }, timeoutMs);
  }

  // ---- version sources

  /** `{records: [...]}`: checked here (an array of plain objects), stored as NDJSON in the artifact store. */
  private async fromRecords(datasetId: string, body: unknown, actor: AdminActor): Promise<AcceptedVersionDto> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ValidationProblemException([
        { field: 'body', reason: 'must be a JSON object {records: [...], schema?, errorPolicy?, nullTokens?}' },
      ]);
    }
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !RECORDS_BODY_KEYS.includes(k));
    if (unknown.length > 0)
      throw new ValidationProblemException(
        unknown.map((k) => ({ field: k, reason: `is not a known property (${RECORDS_BODY_KEYS.join(', ')})` })),
      );
    const records = b.records;
    if (!Array.isArray(records)) {
      throw new ValidationProblemException([
        {
          field: 'records',
          reason: `must be an array of objects, got ${records === undefined ? 'nothing' : records === null ? 'null' : typeof records}`,
        },
      ]);
    }
    const bad = records.findIndex((r) => typeof r !== 'object' || r === null || Array.isArray(r));
    if (bad >= 0) {
      const r = records[bad] as unknown;
      throw new ValidationProblemException([
        { field: `records[${bad}]`, reason: `must be an object, got ${r === null ? 'null' : Array.isArray(r) ? 'an array' : typeof r}` },
      ]);
    }
    if (records.length === 0) throw new UnprocessableEntityException('records: is an empty array; send at least one record');
    const options = rethrowInputError(() => checkVersionOptions(b));
    const ndjson = Readable.from(
      (function* () {
        for (const r of records) yield `${JSON.stringify(r)}\n`;
      })(),
    );
    const ref = await this.artifacts.put(ndjson, { maxBytes: this.datasets.uploadLimitBytes });
    return this.accept(datasetId, 'records', 'records.ndjson', 'ndjson', ref, options, actor);
  }

  /**
   * Multipart: option fields first, then the `file` part, streamed straight into the artifact store
   * (never buffered whole). Over the upload limit → 413 and nothing stored.
   */
  private async fromUpload(datasetId: string, req: FastifyRequest, actor: AdminActor): Promise<AcceptedVersionDto> {
    const fields: Partial<Record<OptionField, string>> = {};
    let upload: { ref: { sha256: string; size: number }; fileName: string | null; options: DatasetVersionOptions } | null = null;
    for await (const part of req.parts() as AsyncIterable<Multipart>) {
      if (part.type === 'field') {
        const name = part.fieldname;
        if (!(OPTION_FIELDS as readonly string[]).includes(name)) {
          throw new ValidationProblemException([
            { field: name, reason: `is not a known field; the data goes in "file", options are ${OPTION_FIELDS.join(', ')}` },
          ]);
        }
        if (upload)
          throw new ValidationProblemException([{ field: name, reason: 'must come before the "file" part in the multipart form' }]);
        if (part.valueTruncated) throw new PayloadTooLargeException(`${name}: the field value is too large`);
        // An empty field is an option left blank (HTML forms and Swagger UI send those): absent, like a field not sent.
        if (String(part.value) === '') continue;
        fields[name as OptionField] = String(part.value);
        continue;
      }
      upload = await this.storeFile(part, fields);
    }
    if (!upload)
      throw new ValidationProblemException([{ field: 'file', reason: 'is required: send the data as a multipart file part named "file"' }]);
    return this.accept(datasetId, 'upload', upload.fileName, fields.format?.trim() || null, upload.ref, upload.options, actor);
  }

  private async storeFile(
    part: MultipartFile,
    fields: Partial<Record<OptionField, string>>,
  ): Promise<{ ref: { sha256: string; size: number }; fileName: string | null; options: DatasetVersionOptions }> {
    const file = part.file;
    try {
      if (part.fieldname !== 'file') {
        throw new ValidationProblemException([
          { field: 'file', reason: `is required: the data must be in the multipart field "file", not "${part.fieldname}"` },
        ]);
      }
      const fileName = part.filename ? part.filename.slice(0, 500) : null;
      if (fileName?.includes('\u0000')) throw new ValidationProblemException([{ field: 'file', reason: `file name ${NUL_REASON}` }]);
      const options = rethrowInputError(() =>
        checkVersionOptions({
          schema: fields.schema !== undefined ? parseJsonField('schema', fields.schema) : undefined,
          errorPolicy: fields.errorPolicy !== undefined ? parseJsonField('errorPolicy', fields.errorPolicy) : undefined,
          nullTokens: fields.nullTokens !== undefined ? parseJsonField('nullTokens', fields.nullTokens) : undefined,
        }),
      );
      rethrowInputError(() => resolveFormat(fileName ?? undefined, fields.format?.trim() || undefined));
      const limit = this.datasets.uploadLimitBytes;
      const guarded = async function* (): AsyncGenerator<Buffer> {
        for await (const chunk of file as AsyncIterable<Buffer>) yield chunk;
        // busboy ends a part cut at limits.fileSize normally and flags it; refuse it before it is stored
        if (file.truncated)
          throw new PayloadTooLargeException(`file: the upload exceeds the limit of ${limit} bytes (KILN_UPLOAD_LIMIT_BYTES)`);
      };
      const ref = await this.artifacts.put(guarded(), { maxBytes: limit });
      if (ref.size === 0) throw new UnprocessableEntityException('file: the file is empty');
      return { ref, fileName, options };
    } finally {
      if (!file.readableEnded) file.resume(); // drain what was not read so the request completes
    }
  }

  private async accept(
    datasetId: string,
    sourceKind: 'upload' | 'records',
    fileName: string | null,
    format: string | null,
    ref: { sha256: string; size: number },
    options: DatasetVersionOptions,
    actor: AdminActor,
  ): Promise<AcceptedVersionDto> {
    return this.port.acceptVersion(
      { datasetId, status: 'pending', sourceKind, fileName, format, rawSha256: ref.sha256, rawSizeBytes: ref.size, options },
      actor,
    );
  }
}
