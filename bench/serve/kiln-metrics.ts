/**
 * Kiln's own view of a load-test cell, from two scrapes of `/metrics` (Prometheus text): mean rows
 * per model call (dynamic batcher), mean time inside the inference service (routing → outputs) and
 * mean server-side HTTP time of the predict route. Lets the report split a request's latency into
 * "model + batching" and "everything around it".
 */

export interface MetricsScrape {
  /** `name{labels}` → value, for the series the benchmark reads. */
  series: Map<string, number>;
}

export async function scrapeMetrics(baseUrl: string): Promise<MetricsScrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics → ${res.status}`);
  const series = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { series };
}

/** Sum of every series of `name` whose labels include all of `labels`. */
export function sum(s: MetricsScrape, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const [key, value] of s.series) {
    if (!(key === name || key.startsWith(`${name}{`))) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

export interface ServerView {
  /** Mean rows per model call (1 when batching is off). */
  meanBatchRows: number | null;
  /** Model calls made. */
  modelCalls: number;
  /** Mean ms from routing to outputs (validation, batching queue, model) per request. */
  inferenceMs: number | null;
  /** Mean ms Kiln's HTTP metric measured for the predict route (request received → response sent). */
  httpMs: number | null;
}

export function serverView(before: MetricsScrape, after: MetricsScrape, model: string): ServerView {
  const delta = (name: string, labels: Record<string, string>) => sum(after, name, labels) - sum(before, name, labels);
  const mean = (name: string, labels: Record<string, string>, scale: number): number | null => {
    const n = delta(`${name}_count`, labels);
    return n > 0 ? (delta(`${name}_sum`, labels) / n) * scale : null;
  };
  return {
    meanBatchRows: mean('kiln_inference_batch_size', { model }, 1),
    modelCalls: delta('kiln_inference_batch_size_count', { model }),
    inferenceMs: mean('kiln_inference_duration_seconds', { model, protocol: 'record' }, 1000),
    httpMs: mean('kiln_http_request_duration_seconds', { route: '/api/models/:name/predict', status_code: '200' }, 1000),
  };
}
