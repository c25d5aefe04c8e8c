import type { FastifyInstance } from 'fastify';
import type { MetricsService } from './metrics.service';

/** Observes every HTTP request's duration, labelled by route template (not raw URL: bounded cardinality). */
export function installHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}
