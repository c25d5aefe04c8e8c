import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { QueueName } from '../../contracts';
import { QueueInspector } from '../queues/queue-inspector';

/**
 * Prometheus metrics of this process: process metrics, HTTP request durations by route and status,
 * and queue depth per queue and state (read from the backend at scrape time). One registry per app
 * (not prom-client's global one) so several apps in one process (tests) do not collide.
 * Domains add their own metrics to `registry`.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(queues: QueueInspector) {
    collectDefaultMetrics({ register: this.registry, prefix: 'kiln_' });
    this.httpDuration = new Histogram({
      name: 'kiln_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    new Gauge({
      name: 'kiln_queue_jobs',
      help: 'Jobs per queue and state, read from the queue backend at scrape time',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        await Promise.all(
          Object.values(QueueName).map(async (queue) => {
            const counts = await queues.counts(queue).catch(() => null);
            if (!counts) return;
            for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
          }),
        );
      },
    });
  }
}
