/**
 * The monitoring document of one model over a time window, from the prediction log (live calls
 * only: shadow copies and batch chunks are not caller traffic) and the feedback labels:
 *   per version: requests, rate, error rate, latency percentiles (SQL percentile_cont), prediction
 *   distribution (label counts, or a 20-bin histogram of regression values), quality on labelled
 *   predictions (see live-metrics.ts);
 *   per minute: request count, p50 and p99 latency;
 *   the latest drift report when the drift table exists.
 * A prediction belongs to the window by `served_at`; its label counts whenever it arrived. Quality
 * and distributions use record-API outputs (the tensor protocols return no labels).
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ModelRegistry } from '../../models';
import { COMMITTED_PREDICTIONS } from '../log/committed-predictions';
import type { LabelSpec } from './feedback-input';
import { LabelSpecs } from './label-specs';
import { liveQuality, type LabelledPrediction, type LiveQuality } from './live-metrics';
import type { TimeWindow } from './time-window';

/** Most recent labelled records scored per call (the metrics say how many they used). */
export const MAX_LABELLED_RECORDS = 200_000;
export const HISTOGRAM_BINS = 20;

export type PredictionDistribution =
  { type: 'labels'; counts: Record<string, number> } | { type: 'histogram'; edges: number[]; counts: number[] } | null;

export interface VersionMonitoring {
  version: number | null;
  task: LabelSpec['task'] | null;
  requests: { count: number; ratePerSecond: number; errors: number; errorRate: number };
  latencyMs: { p50: number; p95: number; p99: number };
  predictions: PredictionDistribution;
  quality: LiveQuality | null;
}

export interface MonitoringDocument {
  model: string;
  window: { from: string; to: string; seconds: number };
  totals: { requests: number; ratePerSecond: number; errors: number; errorRate: number };
  versions: VersionMonitoring[];
  latencyOverTime: Array<{ minute: string; count: number; p50: number; p99: number }>;
  /** Quality used only the most recent MAX_LABELLED_RECORDS labelled records. */
  labelledTruncated: boolean;
  drift: { id: string; version: number; createdAt: string; drift: boolean; report: unknown } | null;
}

// The partition key (logged_at) is never before served_at, so the lower bound also prunes partitions.
const LIVE_IN_WINDOW = `p.model = $1 AND p.kind = 'live' AND p.served_at >= $2 AND p.served_at < $3 AND p.logged_at >= $2`;
const OUTPUT_ELEMENTS = `jsonb_array_elements(CASE WHEN jsonb_typeof(p.outputs) = 'array' THEN p.outputs ELSE '[]'::jsonb END)`;

const key = (v: number | null) => (v === null ? 'null' : String(v));

@Injectable()
export class MonitoringService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly registry: ModelRegistry,
    private readonly specs: LabelSpecs,
  ) {}

  async document(model: string, w: TimeWindow): Promise<MonitoringDocument> {
    await this.registry.getModel(model); // 404 for an unknown model
    const args = [model, w.from, w.to];
    const [traffic, labels, histograms, labelled, minutes, drift] = await Promise.all([
      this.traffic(args),
      this.labelCounts(args),
      this.histograms(args),
      this.labelled(args),
      this.latencyOverTime(args),
      this.latestDrift(model),
    ]);
    const versions: VersionMonitoring[] = [];
    for (const t of traffic) {
      const spec = await this.specs.of(model, t.version);
      const rows = labelled.rows.get(key(t.version)) ?? [];
      versions.push({
        version: t.version,
        task: spec?.task ?? null,
        requests: { count: t.count, ratePerSecond: t.count / w.seconds, errors: t.errors, errorRate: t.errors / t.count },
        latencyMs: { p50: t.p50, p95: t.p95, p99: t.p99 },
        predictions: labels.get(key(t.version)) ?? histograms.get(key(t.version)) ?? null,
        quality: spec ? liveQuality(rows, spec) : null,
      });
    }
    const requests = traffic.reduce((a, t) => a + t.count, 0);
    const errors = traffic.reduce((a, t) => a + t.errors, 0);
    return {
      model,
      window: { from: w.from.toISOString(), to: w.to.toISOString(), seconds: w.seconds },
      totals: { requests, ratePerSecond: requests / w.seconds, errors, errorRate: requests ? errors / requests : 0 },
      versions,
      latencyOverTime: minutes,
      labelledTruncated: labelled.truncated,
      drift,
    };
  }

  private async traffic(args: unknown[]) {
    const rows: Array<{ version: number | null; count: number; errors: number; p50: number; p95: number; p99: number }> =
      await this.db.query(
        `SELECT p.model_version AS version, count(*)::int AS count, (count(*) FILTER (WHERE p.status >= 400))::int AS errors,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY p.latency_ms) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY p.latency_ms) AS p95,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY p.latency_ms) AS p99
         FROM ${COMMITTED_PREDICTIONS} p WHERE ${LIVE_IN_WINDOW}
        GROUP BY p.model_version ORDER BY p.model_version NULLS LAST`,
        args,
      );
    return rows;
  }

  private async labelCounts(args: unknown[]): Promise<Map<string, PredictionDistribution>> {
    const rows: Array<{ version: number; label: string; count: number }> = await this.db.query(
      `SELECT p.model_version AS version, o.value->>'label' AS label, count(*)::int AS count
         FROM ${COMMITTED_PREDICTIONS} p CROSS JOIN LATERAL ${OUTPUT_ELEMENTS} AS o(value)
        WHERE ${LIVE_IN_WINDOW} AND p.route = 'record' AND p.status < 400 AND jsonb_typeof(o.value->'label') = 'string'
        GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2`,
      args,
    );
    const out = new Map<string, PredictionDistribution>();
    for (const r of rows) {
      let d = out.get(key(r.version));
      if (!d) out.set(key(r.version), (d = { type: 'labels', counts: {} }));
      if (d.type === 'labels') d.counts[r.label] = r.count;
    }
    return out;
  }

  private async histograms(args: unknown[]): Promise<Map<string, PredictionDistribution>> {
    const rows: Array<{ version: number; lo: number; hi: number; bin: number; count: number }> = await this.db.query(
      `WITH v AS (
         SELECT p.model_version AS version, (o.value->>'value')::float8 AS x
           FROM ${COMMITTED_PREDICTIONS} p CROSS JOIN LATERAL ${OUTPUT_ELEMENTS} AS o(value)
          WHERE ${LIVE_IN_WINDOW} AND p.route = 'record' AND p.status < 400 AND jsonb_typeof(o.value->'value') = 'number'
       ), r AS (SELECT version, min(x) AS lo, max(x) AS hi FROM v GROUP BY version)
       SELECT v.version, r.lo, r.hi,
              CASE WHEN r.hi > r.lo THEN LEAST(width_bucket(v.x, r.lo, r.hi, ${HISTOGRAM_BINS}), ${HISTOGRAM_BINS}) ELSE 1 END AS bin,
              count(*)::int AS count
         FROM v JOIN r ON r.version IS NOT DISTINCT FROM v.version
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 4`,
      args,
    );
    const out = new Map<string, PredictionDistribution>();
    for (const r of rows) {
      let d = out.get(key(r.version));
      if (!d) {
        const bins = r.hi > r.lo ? HISTOGRAM_BINS : 1;
        const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? r.hi : r.lo + ((r.hi - r.lo) * i) / bins));
        out.set(key(r.version), (d = { type: 'histogram', edges, counts: new Array<number>(bins).fill(0) }));
      }
      if (d.type === 'histogram') d.counts[r.bin - 1] = r.count;
    }
    return out;
  }

  /** One row per labelled record: the logged output element and the label at the same position. */
  private async labelled(args: unknown[]): Promise<{ rows: Map<string, LabelledPrediction[]>; truncated: boolean }> {
    const rows: Array<{ version: number; predicted: LabelledPrediction['predicted'] | null; actual: string | number }> =
      await this.db.query(
        `SELECT p.model_version AS version, o.value AS predicted, a.value AS actual
         FROM ${COMMITTED_PREDICTIONS} p
         JOIN audit_feedback f ON f.request_id = p.request_id AND f.model = $1
         CROSS JOIN LATERAL ${OUTPUT_ELEMENTS} WITH ORDINALITY AS o(value, i)
         JOIN LATERAL jsonb_array_elements(f.actual) WITH ORDINALITY AS a(value, i) ON a.i = o.i
        WHERE ${LIVE_IN_WINDOW} AND p.route = 'record' AND p.status < 400
        ORDER BY p.served_at DESC
        LIMIT ${MAX_LABELLED_RECORDS + 1}`,
        args,
      );
    const truncated = rows.length > MAX_LABELLED_RECORDS;
    const out = new Map<string, LabelledPrediction[]>();
    for (const r of rows.slice(0, MAX_LABELLED_RECORDS)) {
      if (r.predicted === null || typeof r.predicted !== 'object') continue;
      let list = out.get(key(r.version));
      if (!list) out.set(key(r.version), (list = []));
      list.push({ predicted: r.predicted, actual: r.actual });
    }
    return { rows: out, truncated };
  }

  private async latencyOverTime(args: unknown[]): Promise<MonitoringDocument['latencyOverTime']> {
    const rows: Array<{ minute: Date; count: number; p50: number; p99: number }> = await this.db.query(
      `SELECT date_trunc('minute', p.served_at) AS minute, count(*)::int AS count,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY p.latency_ms) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY p.latency_ms) AS p99
         FROM ${COMMITTED_PREDICTIONS} p WHERE ${LIVE_IN_WINDOW}
        GROUP BY 1 ORDER BY 1`,
      args,
    );
    return rows.map((r) => ({ minute: new Date(r.minute).toISOString(), count: r.count, p50: r.p50, p99: r.p99 }));
  }

  /** Written by the drift monitor; read with raw SQL, and absent (table missing or empty) is null. */
  private async latestDrift(model: string): Promise<MonitoringDocument['drift']> {
    const [{ exists }] = await this.db.query(`SELECT to_regclass('drift_reports') IS NOT NULL AS exists`);
    if (!exists) return null;
    const rows: Array<{ id: string; version: number; created_at: Date; drift: boolean; report: unknown }> = await this.db.query(
      `SELECT id, model_version AS version, created_at, drift, report FROM drift_reports ` +
        `WHERE model = $1 AND status = 'completed' ORDER BY created_at DESC LIMIT 1`,
      [model],
    );
    const r = rows[0];
    return r ? { id: r.id, version: r.version, createdAt: new Date(r.created_at).toISOString(), drift: r.drift, report: r.report } : null;
  }
}
