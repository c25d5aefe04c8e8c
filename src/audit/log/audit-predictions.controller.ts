import { Controller, Get, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { Roles } from '../../platform/auth';
import { ArtifactStore, transientFileAnswer } from '../../platform/artifacts';
import { PageDto, PredictionFilterQuery, PredictionsQueryDto } from './audit-log.dto';
import { AuditPort } from '../audit.port';

const auditPage = (items: string) => objectSchema({ items: S.array(S.object(items)), nextCursor: S.nullable(S.string) });

/** One record by request id: its export line once chained; before that, its staged form (`chained: false`). */
const PREDICTION_RECORD = objectSchema(
  {
    seq: { ...S.nullable(S.integer), description: 'position in the chain; null while not chained yet' },
    loggedAt: { ...S.nullable(S.dateTime), description: 'when the chainer wrote it; null while not chained yet' },
    requestId: { ...S.string, description: 'the x-request-id the response carried' },
    clientRequestId: { ...S.string, description: 'the id the client sent (x-request-id, OIP `id`), when it sent one' },
    servedAt: S.dateTime,
    callerKeyId: S.nullable(S.string),
    model: S.string,
    version: S.nullable(S.integer),
    route: { type: 'string', enum: ['record', 'recommend', 'tfserving', 'oip', 'oip-grpc', 'batch'] },
    kind: { type: 'string', enum: ['live', 'shadow', 'batch'] },
    canary: S.boolean,
    status: S.integer,
    latencyMs: { description: 'a number ("NaN" / "Infinity" as strings)' },
    rows: S.integer,
    inputs: { description: 'the inputs as received (null with KILN_AUDIT_PAYLOADS=hash)', nullable: true },
    inputsSha256: S.string,
    outputs: { description: 'the outputs as answered; null for a failed call', nullable: true },
    error: S.nullable(S.string),
    prevHash: { ...S.nullable(S.string), description: "the previous record's hash; null while not chained yet" },
    hash: {
      ...S.nullable(S.string),
      description: 'SHA-256 over prevHash and the canonical JSON of the content; null while not chained yet',
    },
    chained: {
      ...S.boolean,
      description:
        'present, and false, only while the chainer has not moved the record into the hash-chained log yet ' +
        '(it was durable before the call was answered); a chained record is exactly its export line',
    },
  },
  'The logged call. Found as soon as the call is answered, from any process: until chained it has no seq, loggedAt or hashes.',
  ['clientRequestId', 'chained'],
);

/**
 * The prediction log for auditors: keyset pages (by seq, newest first unless order=asc), one
 * record by request id, and an NDJSON export in chain order (a file in the artifact store, streamed). Each record carries its
 * `prevHash` and `hash` (see chain-content.ts for how to re-verify them offline). The listing and the export hold chained
 * records only (a cursor is a seq); the lookup by request id also finds a record not chained yet (staged-predictions.ts).
 */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/predictions')
export class AuditPredictionsController {
  constructor(
    private readonly audit: AuditPort,
    private readonly artifacts: ArtifactStore,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Logged predictions, filtered by model / version / clientRequestId / servedAt, paginated by cursor' })
  @ApiResponse({
    status: 200,
    schema: auditPage(
      'logged calls: {seq, requestId, servedAt, callerKeyId, model, version, route, kind, status, latencyMs, rows, inputs, outputs, …}',
    ),
  })
  async list(@Query() q: PredictionsQueryDto): Promise<PageDto> {
    return this.audit.listPredictions(q);
  }

  @Get('export')
  @ApiOperation({ summary: 'Every matching prediction record as NDJSON in seq order, streamed' })
  @ApiProduces('application/x-ndjson')
  @ApiResponse({
    status: 200,
    description: 'One JSON record per line',
    content: { 'application/x-ndjson': { schema: { type: 'string' } } },
  })
  async export(@Query() q: PredictionFilterQuery): Promise<StreamableFile> {
    // Written to the artifact store by the audit side; only the reference crosses the transport.
    return transientFileAnswer(this.artifacts, await this.audit.exportPredictions(q));
  }

  @Get(':requestId')
  @ApiOperation({ summary: 'One logged prediction by the request id its response carried (x-request-id header)' })
  @ApiResponse({ status: 200, schema: PREDICTION_RECORD })
  async get(@Param('requestId') requestId: string) {
    return this.audit.getPrediction(requestId);
  }
}
