import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import pino, { Logger } from 'pino';
import type { Params } from 'nestjs-pino';
import type { KilnConfig } from '../config/kiln-config';
import { LONE_SURROGATE } from '../http/stored-strings';

/** A client's request id is kept when it has 1 to 200 characters and no control characters. */
export const MAX_CLIENT_REQUEST_ID = 200;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const REDACT = ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'];

/** Why `id` cannot be kept as a client request id, or null (shared by x-request-id and OIP `id`). */
export function clientRequestIdProblem(id: string): string | null {
  if (id.length > MAX_CLIENT_REQUEST_ID) return `must be at most ${MAX_CLIENT_REQUEST_ID} characters`;
  if (CONTROL.test(id)) return 'must not contain control characters';
  if (LONE_SURROGATE.test(id)) return 'must not contain unpaired UTF-16 surrogates';
  return null;
}

/**
 * The request id: a new UUIDv7 for every call (time-ordered, unique per call; the audit log keys
 * records on it and feedback can tell a recent id from an unknown one). The caller's `x-request-id`
 * is kept as the client request id when it has 1 to 200 characters without control characters
 * (logged, audited, searchable), but it never replaces the server's id: two calls sent with the same
 * id are two calls. Written back onto the raw request so Fastify, the logger and handlers agree.
 */
export function requestIdFor(req: IncomingMessage): string {
  const known = serverIds.get(req);
  if (known) return known;
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given.length > 0 && clientRequestIdProblem(given) === null) clientIds.set(req, given);
  const id = uuidV7();
  serverIds.set(req, id);
  req.headers['x-request-id'] = id;
  return id;
}

const serverIds = new WeakMap<IncomingMessage, string>();
const clientIds = new WeakMap<IncomingMessage, string>();

/** The `x-request-id` the caller sent (when kept), else null. Canary routing is sticky on it. */
export function clientRequestIdOf(req: IncomingMessage): string | null {
  return clientIds.get(req) ?? null;
}

/** RFC 9562 UUID version 7: 48-bit Unix milliseconds, then random bits. */
export function uuidV7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The issue time (ms) of a UUIDv7 request id, or null for anything else. */
export function uuidV7Time(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return null;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** Structured JSON logs on stdout, one object per line. */
export function createRootLogger(config: Pick<KilnConfig, 'log'>): Logger {
  return pino({ level: config.log.level, base: { service: 'kiln', pid: process.pid }, redact: REDACT });
}

/** nestjs-pino settings: request logs carry the request id; probes and scrapes are not logged. */
export function loggerParams(config: KilnConfig): Params {
  return {
    pinoHttp: {
      level: config.log.level,
      base: { service: 'kiln', pid: process.pid, roles: config.roles.join(',') },
      redact: REDACT,
      genReqId: (req) => requestIdFor(req),
      autoLogging: { ignore: (req) => /^\/(health|metrics)\b/.test(req.url ?? '') },
      serializers: {
        req: (req: { id: string; method: string; url: string; raw?: IncomingMessage }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
          ...(req.raw && clientIds.has(req.raw) ? { clientRequestId: clientIds.get(req.raw) } : {}),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
