/**
 * SQL for the drift slice: the window of logged predictions (the committed rows of audit_predictions, written by the
 * audit-log worker), drift_reports and drift_settings. Plain SQL on the shared DataSource: the
 * tables are read by name from other places too (monitoring page, /metrics).
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { writeAdminEvent, type AdminActor } from '../../platform/audit-trail/admin-event-outbox';
import type {
  CompletedDriftReportView,
  DriftReportView,
  DriftSettingsView,
  OnDriftSettings,
  SkippedDriftReportView,
  StoredDriftReport,
} from './drift-report';
import { unescapeStrings } from '../chain';
import { COMMITTED_PREDICTIONS } from '../log/committed-predictions';
import type { LoggedPrediction } from './drift-window';

export interface NewDriftReport {
  id: string;
  model: string;
  modelVersion: number;
  windowFrom: Date;
  windowTo: Date;
  rows: number;
  referenceDatasetVersionId: string;
  drift: boolean;
  driftedShare: number;
  report: StoredDriftReport;
}

interface ReportRow {
  id: string;
  model: string;
  status: 'completed' | 'skipped';
  reason: string | null;
  model_version: number | null;
  created_at: Date;
  window_from: Date | null;
  window_to: Date | null;
  rows: number;
  reference_dataset_version_id: string | null;
  drift: boolean | null;
  drifted_share: number | null;
  report: StoredDriftReport | null;
}

function toView(r: ReportRow): DriftReportView {
  if (r.status === 'skipped') return skippedView(r);
  return completedView(r);
}

function skippedView(r: ReportRow): SkippedDriftReportView {
  return {
    id: r.id,
    model: r.model,
    status: 'skipped',
    reason: r.reason ?? '',
    modelVersion: r.model_version === null ? null : Number(r.model_version),
    createdAt: r.created_at.toISOString(),
    windowFrom: null,
    windowTo: null,
    rows: Number(r.rows),
    referenceDatasetVersionId: null,
    drift: null,
    driftedShare: null,
    report: null,
  };
}

/** A completed row (the table's CHECK guarantees the verdict columns are set). */
function completedView(r: ReportRow): CompletedDriftReportView {
  return {
    id: r.id,
    model: r.model,
    status: 'completed',
    reason: null,
    modelVersion: Number(r.model_version),
    createdAt: r.created_at.toISOString(),
    windowFrom: r.window_from!.toISOString(),
    windowTo: r.window_to!.toISOString(),
    rows: Number(r.rows),
    referenceDatasetVersionId: r.reference_dataset_version_id!,
    drift: r.drift!,
    driftedShare: Number(r.drifted_share),
    report: r.report!,
  };
}

@Injectable()
export class DriftStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The newest successful live record-API calls of one model version, newest first, at most
   * `limit` calls (each holds ≥ 1 record, so this bounds the window's rows from above).
   */
  async loggedPredictions(model: string, version: number, limit: number): Promise<LoggedPrediction[]> {
    const rows: Array<{ served_at: Date; inputs: unknown; outputs: unknown }> = await this.db.query(
      `SELECT served_at, inputs, outputs FROM ${COMMITTED_PREDICTIONS} p
        WHERE model = $1 AND model_version = $2 AND kind = 'live' AND status = 200 AND route = 'record'
        ORDER BY served_at DESC, seq DESC LIMIT $3`,
      [model, version, limit],
    );
    // rows store strings escaped (chain/json-safe.ts): drift compares the values the model received
    return rows.map((r) => ({ servedAt: r.served_at, inputs: unescapeStrings(r.inputs), outputs: unescapeStrings(r.outputs) }));
  }

  /** The newest answered live /recommend calls of a version (request body and answer), newest first. */
  async loggedRecommendations(model: string, version: number, limit: number): Promise<LoggedPrediction[]> {
    const rows: Array<{ served_at: Date; inputs: unknown; outputs: unknown }> = await this.db.query(
      `SELECT served_at, inputs, outputs FROM ${COMMITTED_PREDICTIONS} p
        WHERE model = $1 AND model_version = $2 AND kind = 'live' AND status = 200 AND route = 'recommend'
          AND (inputs IS NULL OR inputs ? 'user')
        ORDER BY served_at DESC, seq DESC LIMIT $3`,
      [model, version, limit],
    );
    return rows.map((r) => ({ servedAt: r.served_at, inputs: unescapeStrings(r.inputs), outputs: unescapeStrings(r.outputs) }));
  }

  /** A check that could say nothing: stored with its reason so the reports API shows it. */
  async insertSkipped(r: {
    id: string;
    model: string;
    modelVersion: number | null;
    rows: number;
    reason: string;
  }): Promise<SkippedDriftReportView> {
    const rows: ReportRow[] = await this.db.query(
      `INSERT INTO drift_reports (id, model, model_version, rows, status, reason) VALUES ($1, $2, $3, $4, 'skipped', $5) RETURNING *`,
      [r.id, r.model, r.modelVersion, r.rows, r.reason],
    );
    return skippedView(rows[0]!);
  }

  async insertReport(m: EntityManager, r: NewDriftReport): Promise<CompletedDriftReportView> {
    const rows: ReportRow[] = await m.query(
      `INSERT INTO drift_reports (id, model, model_version, window_from, window_to, ` +
        `rows, reference_dataset_version_id, drift, drifted_share, report)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [
        r.id,
        r.model,
        r.modelVersion,
        r.windowFrom,
        r.windowTo,
        r.rows,
        r.referenceDatasetVersionId,
        r.drift,
        r.driftedShare,
        JSON.stringify(r.report),
      ],
    );
    return completedView(rows[0]!);
  }

  /** Newest first, skipped checks included. */
  async reports(model: string, limit: number): Promise<DriftReportView[]> {
    const rows: ReportRow[] = await this.db.query(`SELECT * FROM drift_reports WHERE model = $1 ORDER BY created_at DESC, id LIMIT $2`, [
      model,
      limit,
    ]);
    return rows.map(toView);
  }

  /** The newest completed report of every model (for the /metrics gauges; a skipped check sets none). */
  async latestPerModel(): Promise<CompletedDriftReportView[]> {
    const rows: ReportRow[] = await this.db.query(
      `SELECT DISTINCT ON (model) * FROM drift_reports WHERE status = 'completed' ORDER BY model, created_at DESC, id`,
    );
    return rows.map(completedView);
  }

  /** Whether an earlier report of this model already queued a retrain on that dataset version. */
  async retrainAlreadyQueued(m: EntityManager, model: string, datasetVersionId: string): Promise<string | null> {
    const rows: Array<{ job: string }> = await m.query(
      `SELECT report->'retrain'->>'trainingJobId' AS job FROM drift_reports
        WHERE model = $1 AND report->'retrain'->>'status' = 'queued' AND report->'retrain'->>'datasetVersionId' = $2
        ORDER BY created_at DESC LIMIT 1`,
      [model, datasetVersionId],
    );
    return rows[0]?.job ?? null;
  }

  async settings(model: string, m: EntityManager = this.db.manager): Promise<DriftSettingsView> {
    const rows: Array<{ on_drift: OnDriftSettings | null; updated_by: string | null; updated_at: Date }> = await m.query(
      `SELECT on_drift, updated_by, updated_at FROM drift_settings WHERE model = $1`,
      [model],
    );
    const r = rows[0];
    return { model, onDrift: r?.on_drift ?? null, updatedBy: r?.updated_by ?? null, updatedAt: r ? r.updated_at.toISOString() : null };
  }

  /** Stores the settings; the change commits with its `drift-settings.changed` event by `actor`. */
  async putSettings(model: string, onDrift: OnDriftSettings | null, by: string | null, actor: AdminActor): Promise<DriftSettingsView> {
    return this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('kiln.drift-settings:' || $1))`, [model]);
      const before = await this.settings(model, m);
      await m.query(
        `INSERT INTO drift_settings (model, on_drift, updated_by, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (model) DO UPDATE SET on_drift = EXCLUDED.on_drift, ` +
          `updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
        [model, onDrift === null ? null : JSON.stringify(onDrift), by],
      );
      const after = await this.settings(model, m);
      await writeAdminEvent(m, actor, { action: 'drift-settings.changed', target: { name: model }, before, after });
      return after;
    });
  }

  /** The `drift-check.requested` event of check `jobId`, in `m`'s transaction (committed before the check is queued); its event id. */
  checkRequested(m: EntityManager, actor: AdminActor, model: string, jobId: string): Promise<string> {
    return writeAdminEvent(m, actor, {
      action: 'drift-check.requested',
      target: { name: model },
      before: null,
      after: { jobId, status: 'queued' },
    });
  }

  /** Serialises the end of checks of one model (retrain decision + insert) across processes. */
  async withModelLock<T>(model: string, work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('kiln.drift:' || $1))`, [model]);
      return work(m);
    });
  }
}
