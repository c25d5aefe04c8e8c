/**
 * Drift gauges in /metrics, read from the newest stored report of each model at scrape time (the
 * process that serves /metrics is not necessarily the one that ran the check), cached briefly so
 * that one scrape (several gauges) and a burst of scrapes cost one query.
 *
 *   kiln_drift_detected{model,version}                    1 when the newest report has a dataset-level drift verdict
 *   kiln_drift_drifted_share{model,version}               share of the tested features that drifted
 *   kiln_drift_score{model,version,feature,test}          the test's score (KS D, χ², normalised Wasserstein, JS distance)
 *   kiln_drift_p_value{model,version,feature,test}        KS / chi-square only
 *   kiln_drift_psi{model,version,feature}                 PSI on the reference bins
 *   kiln_drift_feature_detected{model,version,feature}    1 when that feature drifted
 *   kiln_drift_report_timestamp_seconds{model,version}    when the newest report was made
 * The predictions appear as feature `prediction:<target>`.
 */
import { Injectable, Logger } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { MetricsService } from '../../platform/metrics/metrics.service';
import type { FeatureDrift } from './statistics';
import type { CompletedDriftReportView as DriftReportView } from './drift-report';
import { DriftStore } from './drift-store';

export const DRIFT_METRICS_CACHE_MS = 5_000;

/** The feature label of the predictions' result. */
export function predictionFeature(target: string): string {
  return `prediction:${target}`;
}

type Setter = (g: Gauge<string>, r: DriftReportView) => void;

function everyFeature(r: DriftReportView): FeatureDrift[] {
  const p = r.report.prediction;
  return p?.result ? [...r.report.features, { ...p.result, feature: predictionFeature(p.target) }] : r.report.features;
}

@Injectable()
export class DriftMetrics {
  private readonly logger = new Logger('DriftMetrics');
  private cache: { at: number; reports: Promise<DriftReportView[]> } | null = null;

  constructor(
    metrics: MetricsService,
    private readonly store: DriftStore,
  ) {
    const registry = metrics.registry;
    const ver = (r: DriftReportView) => ({ model: r.model, version: String(r.modelVersion) });
    this.gauge(
      registry,
      'kiln_drift_detected',
      'Dataset-level drift verdict of the newest drift report (1 drift, 0 none)',
      ['model', 'version'],
      (g, r) => g.set(ver(r), r.drift ? 1 : 0),
    );
    this.gauge(
      registry,
      'kiln_drift_drifted_share',
      'Share of the tested features that drifted in the newest drift report',
      ['model', 'version'],
      (g, r) => g.set(ver(r), r.driftedShare),
    );
    this.gauge(
      registry,
      'kiln_drift_report_timestamp_seconds',
      'When the newest drift report was made (Unix seconds)',
      ['model', 'version'],
      (g, r) => g.set(ver(r), Date.parse(r.createdAt) / 1000),
    );
    this.gauge(
      registry,
      'kiln_drift_score',
      'Per-feature drift score of the newest report (see the test label)',
      ['model', 'version', 'feature', 'test'],
      (g, r) => {
        for (const f of everyFeature(r)) g.set({ ...ver(r), feature: f.feature, test: f.test }, f.score);
      },
    );
    this.gauge(
      registry,
      'kiln_drift_p_value',
      'Per-feature p-value of the newest report (KS and chi-square only)',
      ['model', 'version', 'feature', 'test'],
      (g, r) => {
        for (const f of everyFeature(r)) if (f.pValue !== undefined) g.set({ ...ver(r), feature: f.feature, test: f.test }, f.pValue);
      },
    );
    this.gauge(
      registry,
      'kiln_drift_psi',
      'Per-feature population stability index of the newest report',
      ['model', 'version', 'feature'],
      (g, r) => {
        for (const f of everyFeature(r)) if (f.psi !== null) g.set({ ...ver(r), feature: f.feature }, f.psi);
      },
    );
    this.gauge(
      registry,
      'kiln_drift_feature_detected',
      'Per-feature drift verdict of the newest report (1 drift, 0 none)',
      ['model', 'version', 'feature'],
      (g, r) => {
        for (const f of everyFeature(r)) g.set({ ...ver(r), feature: f.feature }, f.drifted ? 1 : 0);
      },
    );
  }

  private gauge(registry: Registry, name: string, help: string, labelNames: string[], set: Setter): void {
    if (registry.getSingleMetric(name)) return;
    const latest = () => this.latest();
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const reports = await latest();
        this.reset();
        for (const r of reports) set(this, r);
      },
    });
  }

  /** Newest report per model; a failed read yields no samples (and is retried on the next scrape). */
  private async latest(): Promise<DriftReportView[]> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > DRIFT_METRICS_CACHE_MS) {
      const reports = this.store.latestPerModel().catch((e: Error) => {
        this.logger.warn({ error: e.message }, 'drift gauges: cannot read the latest reports');
        this.cache = null;
        return [];
      });
      this.cache = { at: now, reports };
    }
    return this.cache.reports;
  }
}
