import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import pino, { Logger } from 'pino';
import type { Params } from 'nestjs-pino';
import type { KilnConfig } from '../config/kiln-config';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const REDACT = ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'];

/**
 * The request id: the caller's `x-request-id` when it is a sane token, else a new UUID. Written
 * back onto the raw request so Fastify, the pino-http logger and handlers all see the same id.
 */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const fromClient = typeof given === 'string' && REQUEST_ID.test(given);
  const id = fromClient ? given : randomUUID();
  req.headers['x-request-id'] = id;
  if (!fromClient) generatedIds.add(req);
  return id;
}

const generatedIds = new WeakSet<IncomingMessage>();

/** True when the caller sent its own `x-request-id` (canary routing is then sticky on it). */
export function clientSentRequestId(req: IncomingMessage): boolean {
  return !generatedIds.has(req);
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
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
