/**
 * The optional drift webhook (KILN_ALERT_WEBHOOK_URL): one JSON POST per report with a drift
 * verdict. Best effort by design: bounded by a timeout, failures are logged and never fail the
 * check (the report is already stored; the next check alerts again while drift persists).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { KILN_CONFIG, type KilnConfig } from '../../platform/config/kiln-config';
import type { CompletedDriftReportView as DriftReportView } from './drift-report';

export const ALERT_TIMEOUT_MS = 5_000;

export interface DriftAlert {
  type: 'kiln.drift';
  model: string;
  version: number;
  reportId: string;
  createdAt: string;
  drift: true;
  driftedShare: number;
  driftedFeatures: Array<{ feature: string; test: string; score: number; pValue?: number; threshold: number; psi: number | null }>;
  predictionDrifted: boolean | null;
  window: { from: string; to: string; rows: number };
  retrain: DriftReportView['report']['retrain'];
  /** Where the full report is. */
  reportPath: string;
}

export function alertOf(r: DriftReportView): DriftAlert {
  return {
    type: 'kiln.drift',
    model: r.model,
    version: r.modelVersion,
    reportId: r.id,
    createdAt: r.createdAt,
    drift: true,
    driftedShare: r.driftedShare,
    driftedFeatures: r.report.features
      .filter((f) => f.drifted)
      .map((f) => ({
        feature: f.feature,
        test: f.test,
        score: f.score,
        ...(f.pValue !== undefined ? { pValue: f.pValue } : {}),
        threshold: f.threshold,
        psi: f.psi,
      })),
    predictionDrifted: r.report.prediction?.result?.drifted ?? null,
    window: { from: r.windowFrom, to: r.windowTo, rows: r.rows },
    retrain: r.report.retrain,
    reportPath: `/api/models/${encodeURIComponent(r.model)}/drift`,
  };
}

export type AlertOutcome = { sent: true; status: number } | { sent: false; error: string } | null;

@Injectable()
export class DriftAlerts {
  private readonly logger = new Logger('DriftAlerts');

  constructor(@Inject(KILN_CONFIG) private readonly config: KilnConfig) {}

  /** Null when no webhook is configured; otherwise whether the receiver answered 2xx. Never throws. */
  async send(report: DriftReportView): Promise<AlertOutcome> {
    const url = this.config.audit.alertWebhookUrl;
    if (!url) return null;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'kiln-drift-monitor' },
        body: JSON.stringify(alertOf(report)),
        signal: AbortSignal.timeout(ALERT_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) {
        this.logger.warn({ model: report.model, reportId: report.id, status: res.status }, 'drift webhook answered with an error status');
        return { sent: false, error: `HTTP ${res.status}` };
      }
      return { sent: true, status: res.status };
    } catch (e) {
      const error = (e as Error).message;
      this.logger.warn({ model: report.model, reportId: report.id, error }, 'drift webhook failed');
      return { sent: false, error };
    }
  }
}
