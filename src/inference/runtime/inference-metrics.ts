import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BatchObserver } from './dynamic-batcher';

/** The data plane's Prometheus metrics (on the app's registry, served at /metrics). */
export class InferenceMetrics {
  readonly batchSize: Histogram<'model'>;
  readonly queueSeconds: Histogram<'model'>;
  readonly rejected: Counter<'model' | 'reason'>;
  readonly requests: Counter<'model' | 'version' | 'protocol' | 'outcome'>;
  readonly duration: Histogram<'model' | 'protocol'>;
  readonly shadow: Counter<'model' | 'outcome'>;

  constructor(registry: Registry, loadedModels: () => number) {
    const registers = [registry];
    this.batchSize = new Histogram({
      name: 'kiln_inference_batch_size',
      help: 'Rows per model call made by the dynamic batcher',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.queueSeconds = new Histogram({
      name: 'kiln_inference_queue_seconds',
      help: 'Time a request waited in its model queue before its batch ran',
      labelNames: ['model'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.rejected = new Counter({
      name: 'kiln_inference_rejected_total',
      help: 'Requests refused with 503 (queue full or timed out)',
      labelNames: ['model', 'reason'],
      registers,
    });
    this.requests = new Counter({
      name: 'kiln_inference_requests_total',
      help: 'Inference requests by model, version, protocol and outcome (ok or the HTTP status)',
      labelNames: ['model', 'version', 'protocol', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'kiln_inference_duration_seconds',
      help: 'Time from routing to outputs (validation, queue, model), by model and protocol',
      labelNames: ['model', 'protocol'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.shadow = new Counter({
      name: 'kiln_inference_shadow_total',
      help: 'Shadow calls by outcome (agree, differ, error)',
      labelNames: ['model', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'kiln_inference_loaded_models',
      help: 'Model versions loaded in this process',
      registers,
      collect() {
        this.set(loadedModels());
      },
    });
  }

  observerFor(model: string): BatchObserver {
    return {
      batch: (rows) => this.batchSize.observe({ model }, rows),
      queued: (s) => this.queueSeconds.observe({ model }, s),
      rejected: (reason) => this.rejected.inc({ model, reason }),
    };
  }
}
