import { Injectable, NotFoundException } from '@nestjs/common';
import type { AuditDriftCheckResult } from '../contracts';
import type { TransientFileDto } from '../contracts/rpc';
import { ArtifactStore, startTransientFile } from '../platform/artifacts';
import type { AdminActor } from '../platform/audit-trail/admin-event-outbox';
import { ValidationProblemException } from '../platform/http/validation';
import type { PortOf } from '../platform/rpc/port';
import type { DriftReportView, DriftSettingsView } from './drift/drift-report';
import type { OnDriftDto } from './drift/drift.dto';
import { DriftService } from './drift/drift.service';
import {
  parseBound,
  timeParam,
  type EventsQueryDto,
  type PageDto,
  type PredictionsQueryDto,
  type PredictionFilterQuery,
} from './log/audit-log.dto';
import { AuditLogReader, type PredictionFilter } from './log/audit-log.reader';
import type { ChainName } from './log/audit-log.writer';
import type { PublishedKey } from './log/checkpoint-key';
import { AuditCheckpoints, type SignedCheckpoint } from './log/checkpoints.service';
import { ChainVerifier, type ChainVerificationReport } from './log/chain-verifier.service';
import { FeedbackService, type FeedbackOutcome } from './monitoring/feedback.service';
import { MonitoringService, type MonitoringDocument } from './monitoring/monitoring.service';
import { parseTimeWindow } from './monitoring/time-window';

/** Signed checkpoints listed by `checkpoints()`, newest first. */
const LISTED_CHECKPOINTS = 50;

export type DriftCheckOutcome = AuditDriftCheckResult & { report: DriftReportView | null };

export interface CheckpointListing {
  publicKey: PublishedKey;
  latest: Record<ChainName, SignedCheckpoint | null>;
  checkpoints: SignedCheckpoint[];
}

/** The prediction filter of the list and the export (`version` needs `model`). */
export function predictionFilterOf(q: PredictionFilterQuery): PredictionFilter {
  if (q.version !== undefined && q.model === undefined) throw new ValidationProblemException([{ field: 'version', reason: 'needs model' }]);
  return { model: q.model, version: q.version, clientRequestId: q.clientRequestId, from: timeParam(q.from), to: timeParam(q.to) };
}

/**
 * The audit use cases the gateway serves (DI token; patterns `RpcPatterns.audit`): `LocalAudit` with the
 * audit role, else the audit app over KILN_TRANSPORT. Arguments are the HTTP query as received (strings
 * and numbers, times as text): the audit side parses them, so its 400s cross the hop unchanged. The
 * signed checkpoints are listed and made by the audit app (only it needs the signing key file); the NDJSON
 * export is written by the audit app to the artifact store and streamed from there by the gateway.
 */
export abstract class AuditPort implements PortOf<'audit'> {
  abstract verify(chain: ChainName, from?: string, to?: string): Promise<ChainVerificationReport>;
  abstract listPredictions(query: PredictionsQueryDto): Promise<PageDto>;
  abstract exportPredictions(query: PredictionFilterQuery): Promise<TransientFileDto>;
  abstract getPrediction(requestId: string): Promise<unknown>;
  abstract listEvents(query: EventsQueryDto): Promise<PageDto>;
  abstract submitFeedback(body: unknown, callerKeyId: string | null): Promise<FeedbackOutcome>;
  abstract monitoring(model: string, window: { window?: string; from?: string; to?: string }): Promise<MonitoringDocument>;
  abstract driftReports(
    model: string,
    limit: number,
  ): Promise<{ model: string; latest: DriftReportView | null; history: DriftReportView[] }>;
  abstract driftCheck(model: string, actor: AdminActor): Promise<string>;
  abstract driftSettings(model: string): Promise<DriftSettingsView>;
  abstract putDriftSettings(model: string, onDrift: OnDriftDto | null, by: string | null, actor: AdminActor): Promise<DriftSettingsView>;
  abstract driftCheckOutcome(jobId: string): Promise<DriftCheckOutcome | null>;
  abstract checkpoints(): Promise<CheckpointListing>;
  abstract createCheckpoints(actor: AdminActor): Promise<{ publicKey: PublishedKey; checkpoints: SignedCheckpoint[] }>;
}

/** `AuditPort` on the local audit services. */
@Injectable()
export class LocalAudit extends AuditPort {
  constructor(
    private readonly verifier: ChainVerifier,
    private readonly reader: AuditLogReader,
    private readonly feedback: FeedbackService,
    private readonly monitor: MonitoringService,
    private readonly drift: DriftService,
    private readonly signed: AuditCheckpoints,
    private readonly artifacts: ArtifactStore,
  ) {
    super();
  }

  verify(chain: ChainName, from?: string, to?: string): Promise<ChainVerificationReport> {
    return this.verifier.verify(chain, parseBound('from', from), parseBound('to', to));
  }

  listPredictions(q: PredictionsQueryDto): Promise<PageDto> {
    return this.reader.listPredictions(predictionFilterOf(q), {
      cursor: q.cursor === undefined ? undefined : Number(q.cursor),
      limit: q.limit ?? 100,
      order: q.order ?? 'desc',
    });
  }

  /**
   * The matching records as NDJSON, written to a transient file in the background (the gateway streams
   * it as it is written); the filter is checked first, so a bad one is a 400 here.
   */
  async exportPredictions(q: PredictionFilterQuery): Promise<TransientFileDto> {
    const id = startTransientFile(this.artifacts, this.reader.exportPredictions(predictionFilterOf(q)));
    return { id, fileName: 'audit-predictions.ndjson', contentType: 'application/x-ndjson; charset=utf-8' };
  }

  async getPrediction(requestId: string): Promise<unknown> {
    const record = await this.reader.getPrediction(requestId);
    if (!record) throw new NotFoundException(`requestId: no logged prediction '${requestId.slice(0, 200)}'`);
    return record;
  }

  listEvents(q: EventsQueryDto): Promise<PageDto> {
    return this.reader.listEvents(
      { action: q.action, from: timeParam(q.from), to: timeParam(q.to) },
      { cursor: q.cursor === undefined ? undefined : Number(q.cursor), limit: q.limit ?? 100, order: q.order ?? 'desc' },
    );
  }

  submitFeedback(body: unknown, callerKeyId: string | null): Promise<FeedbackOutcome> {
    return this.feedback.submit(body, callerKeyId);
  }

  monitoring(model: string, window: { window?: string; from?: string; to?: string }): Promise<MonitoringDocument> {
    return this.monitor.document(model, parseTimeWindow(window));
  }

  driftReports(model: string, limit: number): Promise<{ model: string; latest: DriftReportView | null; history: DriftReportView[] }> {
    return this.drift.reports(model, limit);
  }

  driftCheck(model: string, actor: AdminActor): Promise<string> {
    return this.drift.enqueueCheck(model, actor);
  }

  driftSettings(model: string): Promise<DriftSettingsView> {
    return this.drift.settings(model);
  }

  putDriftSettings(model: string, onDrift: OnDriftDto | null, by: string | null, actor: AdminActor): Promise<DriftSettingsView> {
    return this.drift.putSettings(model, onDrift, by, actor);
  }

  /** Looked at once (`waitForCheck` with no time left): the gateway polls, no call is held open. */
  driftCheckOutcome(jobId: string): Promise<DriftCheckOutcome | null> {
    return this.drift.waitForCheck(jobId, 0);
  }

  async checkpoints(): Promise<CheckpointListing> {
    const [predictions, events, checkpoints] = await Promise.all([
      this.signed.newest('predictions'),
      this.signed.newest('events'),
      this.signed.list(LISTED_CHECKPOINTS),
    ]);
    return { publicKey: this.signed.publicKey(), latest: { predictions, events }, checkpoints };
  }

  async createCheckpoints(actor: AdminActor): Promise<{ publicKey: PublishedKey; checkpoints: SignedCheckpoint[] }> {
    return { publicKey: this.signed.publicKey(), checkpoints: await this.signed.create(false, actor) };
  }
}
