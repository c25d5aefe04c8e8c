/**
 * Every answered record API (`POST /api/models/{name}/predict`), /v1 and /v2 inference call is audited
 * exactly once. The runtime audits the calls that reach it; this hook audits the ones answered before
 * that — refused by the body parser (bad JSON, JSON nested too deep, a body too large, an unsupported
 * content type or encoding), by auth, by the protocol codec or the controller's own checks, or for an
 * unknown model — with the answer's status and error text and no inputs (none were read), the time
 * since the request arrived as its latency, and a count in kiln_inference_requests_total. It runs when
 * the answer is sent and waits for the record to be durable, as the runtime's records do.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../platform/auth';
import { urlPath } from '../platform/http/url-path';
import { clientRequestIdOf } from '../platform/logging/logging';
import type { InferenceService } from './inference.service';
import type { InferenceCall } from './runtime/served-model';

const INFERENCE_ROUTES: ReadonlyArray<{ pattern: RegExp; protocol: 'oip' | 'tfserving' | 'record' }> = [
  { pattern: /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?\/infer$/, protocol: 'oip' },
  { pattern: /^\/v1\/models\/([^/:]+)(?:\/(?:versions|labels)\/[^/:]+)?:(?:predict|classify|regress|explain)$/, protocol: 'tfserving' },
  { pattern: /^\/api\/models\/([^/]+)\/predict$/, protocol: 'record' },
];

/** The model name and protocol of an inference route's path (percent-decoded), or null for any other path. */
export function inferenceRoute(path: string): { name: string; protocol: 'oip' | 'tfserving' | 'record' } | null {
  for (const { pattern, protocol } of INFERENCE_ROUTES) {
    const encoded = pattern.exec(path)?.[1];
    if (encoded === undefined) continue;
    let name = encoded;
    try {
      name = decodeURIComponent(encoded);
    } catch {
      // a malformed escape: the name as sent
    }
    return { name, protocol };
  }
  return null;
}

/** The error text of a serving answer (`{"error": "..."}`), or the status when it has none. */
export function answerError(payload: unknown, status: number): string {
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
  if (text !== null && text.length <= 1_000_000) {
    try {
      const parsed = JSON.parse(text) as { error?: unknown; detail?: unknown };
      if (typeof parsed.error === 'string') return parsed.error;
      if (typeof parsed.detail === 'string') return parsed.detail;
    } catch {
      // not JSON: the status says it
    }
  }
  return `HTTP ${status}`;
}

export function installServingAnswerAudit(fastify: FastifyInstance, inference: InferenceService): void {
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'POST') return payload;
    if (reply.statusCode < 400) {
      // The runtime audited this call (only inference calls are noted, so no need to match the path first).
      inference.forgetAudited(request.id);
      return payload;
    }
    const route = inferenceRoute(urlPath(request.url));
    if (!route) return payload;
    const call: InferenceCall = {
      protocol: route.protocol,
      requestId: request.id,
      clientRequestId: clientRequestIdOf(request.raw),
      callerKeyId: (request as FastifyRequest & { principal?: Principal }).principal?.keyId ?? null,
    };
    await inference.auditIfUnrecorded(route.name, call, reply.statusCode, answerError(payload, reply.statusCode), reply.elapsedTime);
    return payload;
  });
}
