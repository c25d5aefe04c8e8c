import type { IncomingMessage } from 'node:http';
import { randomFillSync } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import pino, { type DestinationStream, Logger, type LoggerOptions } from 'pino';
import { Logger as PinoNestLogger, type Params } from 'nestjs-pino';
import PinoPretty from 'pino-pretty';
import type { KilnConfig } from '../config/kiln-config';
import { LONE_SURROGATE } from '../http/stored-strings';
import { urlPath } from '../http/url-path';

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
  const tagged = req as TaggedRequest;
  const known = tagged[SERVER_ID];
  if (known !== undefined) return known;
  const given = req.headers['x-request-id'];
  // Both properties are always written, in this order, so every request object keeps one shape.
  tagged[CLIENT_ID] = typeof given === 'string' && given.length > 0 && clientRequestIdProblem(given) === null ? given : null;
  const id = uuidV7();
  tagged[SERVER_ID] = id;
  req.headers['x-request-id'] = id;
  return id;
}

/**
 * The ids ride on the raw request under symbols rather than in WeakMaps keyed by it: a WeakMap entry per
 * request is an ephemeron the garbage collector must trace, and cost about 2 µs of CPU per request
 * (bench/serve/request-id-cost.ts), several times the id itself.
 */
const SERVER_ID = Symbol('kiln.requestId');
const CLIENT_ID = Symbol('kiln.clientRequestId');
type TaggedRequest = IncomingMessage & { [SERVER_ID]?: string; [CLIENT_ID]?: string | null };

/** The `x-request-id` the caller sent (when kept), else null. Canary routing is sticky on it. */
export function clientRequestIdOf(req: IncomingMessage): string | null {
  return (req as TaggedRequest)[CLIENT_ID] ?? null;
}

/**
 * Random bytes for ids, drawn 4 KiB at a time: one `randomFillSync` per 256 ids rather than one per
 * request (it was 3 % of the data plane's CPU at 64 clients). Node's own `crypto.randomUUID` batches the
 * same way, but makes only version 4 ids; the `uuid` package's v7 pools too, for one function.
 */
const randomPool = Buffer.alloc(4096);
let randomPoolUsed = randomPool.length;
/** The character code of each hex digit. */
const HEX = Array.from({ length: 16 }, (_, i) => i.toString(16).charCodeAt(0));
const DASH = 0x2d;

/**
 * RFC 9562 UUID version 7: 48-bit Unix milliseconds, then random bits. Built with one
 * `String.fromCharCode` of its 36 characters: a flat string at once, where concatenating 20 pieces made a
 * rope that V8 then flattened when the id was hashed or written (about 0.5 µs more per id).
 */
export function uuidV7(now = Date.now()): string {
  if (randomPoolUsed + 16 > randomPool.length) {
    randomFillSync(randomPool);
    randomPoolUsed = 0;
  }
  const r = randomPool;
  const at = randomPoolUsed;
  randomPoolUsed += 16;
  // 48-bit milliseconds, big-endian: the high 16 bits, then the low 32 (bit operators work on 32 bits).
  const high = Math.floor(now / 0x1_0000_0000);
  const low = now >>> 0;
  const version = (r[at + 6]! & 0x0f) | 0x70;
  const variant = (r[at + 8]! & 0x3f) | 0x80;
  const h = HEX;
  return String.fromCharCode(
    h[(high >>> 12) & 15]!,
    h[(high >>> 8) & 15]!,
    h[(high >>> 4) & 15]!,
    h[high & 15]!,
    h[low >>> 28]!,
    h[(low >>> 24) & 15]!,
    h[(low >>> 20) & 15]!,
    h[(low >>> 16) & 15]!,
    DASH,
    h[(low >>> 12) & 15]!,
    h[(low >>> 8) & 15]!,
    h[(low >>> 4) & 15]!,
    h[low & 15]!,
    DASH,
    h[version >>> 4]!,
    h[version & 15]!,
    h[r[at + 7]! >>> 4]!,
    h[r[at + 7]! & 15]!,
    DASH,
    h[variant >>> 4]!,
    h[variant & 15]!,
    h[r[at + 9]! >>> 4]!,
    h[r[at + 9]! & 15]!,
    DASH,
    h[r[at + 10]! >>> 4]!,
    h[r[at + 10]! & 15]!,
    h[r[at + 11]! >>> 4]!,
    h[r[at + 11]! & 15]!,
    h[r[at + 12]! >>> 4]!,
    h[r[at + 12]! & 15]!,
    h[r[at + 13]! >>> 4]!,
    h[r[at + 13]! & 15]!,
    h[r[at + 14]! >>> 4]!,
    h[r[at + 14]! & 15]!,
    h[r[at + 15]! >>> 4]!,
    h[r[at + 15]! & 15]!,
  );
}

/** The issue time (ms) of a UUIDv7 request id, or null for anything else. */
export function uuidV7Time(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return null;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * Where log lines go: JSON objects on stdout, or (KILN_LOG_FORMAT=pretty, the default on a terminal)
 * one readable line each through pino-pretty, synchronously in this thread (no transport worker), so a
 * line logged just before exit is never lost. Context and request id lead the message; the fields every
 * line repeats (pid, host, service, roles, the request object) are left out.
 */
export function logDestination(config: Pick<KilnConfig, 'log'>): DestinationStream {
  if (config.log.format === 'json') return pino.destination({ dest: 1, sync: true });
  return PinoPretty({
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service,roles,context,req,res,responseTime,component',
    messageFormat: '{if context}[{context}] {end}{if component}[{component}] {end}{msg}',
    singleLine: true,
  });
}

/** Settings shared by the root logger and the request logger: ISO 8601 timestamps, secrets redacted. */
function baseOptions(config: Pick<KilnConfig, 'log'>): LoggerOptions {
  return { level: config.log.level, redact: REDACT, timestamp: pino.stdTimeFunctions.isoTime };
}

/** The process logger (start-up, shutdown, workers): JSON lines on stdout or readable lines on a terminal. */
export function createRootLogger(config: Pick<KilnConfig, 'log'>): Logger {
  return pino({ ...baseOptions(config), base: { service: 'kiln', pid: process.pid } }, logDestination(config));
}

/**
 * The access log: one line per finished request at info (5xx at error), written from Fastify's
 * onResponse hook with the route's pattern, e.g. `GET /api/training-jobs/:id 200 3 ms · <request id>`
 * (the JSON line also carries the concrete url, status and milliseconds). Probes and scrapes are not
 * logged. pino-http's own request logging, which Nest attaches as middleware, never fired under the
 * Fastify adapter here, and a hook also sees requests answered before any middleware runs (404s, 401s).
 */
/** A url as logged: the value of a `token` query parameter (a stream token, usable for 60 s) is not written to logs. */
export function loggedUrl(url: string): string {
  return url.includes('token=') ? url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]') : url;
}

export function installAccessLog(fastify: FastifyInstance, logger: Logger): void {
  const log = logger.child({ component: 'http' });
  fastify.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : 'info';
    // Below the configured level (the benches run at warn) the line would be dropped: do not build it.
    if (!log.isLevelEnabled(level) || /^\/(health|metrics|monitoring\/prometheus\/metrics)\b/.test(request.url)) return;
    const route = request.routeOptions.url ?? urlPath(request.url);
    const ms = Math.round(reply.elapsedTime);
    const fields = {
      req: {
        id: request.id,
        method: request.method,
        url: loggedUrl(request.url),
        ...(clientRequestIdOf(request.raw) !== null ? { clientRequestId: clientRequestIdOf(request.raw) } : {}),
      },
      res: { statusCode: status },
      route,
      responseTime: ms,
    };
    log[level](fields, `${request.method} ${route} ${status} ${ms} ms · ${request.id}`);
  });
}

/**
 * nestjs-pino settings: logs written while handling a request carry the request id.
 */
export function loggerParams(config: KilnConfig): Params {
  return {
    pinoHttp: [
      {
        ...baseOptions(config),
        base: { service: 'kiln', pid: process.pid, roles: config.roles.join(',') },
        genReqId: (req) => requestIdFor(req),
        autoLogging: false, // the access log is installAccessLog's
        serializers: {
          req: (req: { id: string; method: string; url: string; raw?: IncomingMessage }) => ({
            id: req.id,
            method: req.method,
            url: loggedUrl(req.url),
            ...(req.raw && clientRequestIdOf(req.raw) !== null ? { clientRequestId: clientRequestIdOf(req.raw) } : {}),
          }),
          res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        },
      },
      logDestination(config),
    ],
  };
}

/**
 * Nest's own start-up chatter (a line per module initialised, per controller and per route mapped) is
 * logged at debug rather than info, so the terminal shows what happened rather than how Nest wired itself.
 */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'NestMicroservice',
]);

@Injectable()
export class KilnNestLogger extends PinoNestLogger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) this.debug(message, ...optionalParams);
    else super.log(message, ...optionalParams);
  }
}

/** A running job (training, ingestion, batch scoring) logs its progress at most this often, besides its start and end lines. */
export const JOB_PROGRESS_LOG_MS = 5_000;

/** True at most once per `intervalMs` (the first call included): gates a job's progress log lines. */
export function progressLogGate(intervalMs = JOB_PROGRESS_LOG_MS): () => boolean {
  let last = -Infinity;
  return () => {
    const now = performance.now();
    if (now - last < intervalMs) return false;
    last = now;
    return true;
  };
}
