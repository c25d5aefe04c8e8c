/**
 * The JSON body parser of the HTTP server (registered for `application/json` and
 * `application/x-www-form-urlencoded` on every route):
 *
 *  - caps the nesting depth (default 64) before parsing, so `[[[[…` cannot make JSON.parse spend
 *    seconds on a 10 MB body (measured: 2 MB of nested brackets take JSON.parse ~0.6 s);
 *  - keeps Fastify's protection against `__proto__` / `constructor.prototype` keys (secure-json-parse,
 *    the library Fastify's own parser uses);
 *  - lets a domain register a dialect for a family of routes by URL prefix (`JsonBodyDialects`, like
 *    `ErrorFormats`): a lenient second reading of a body strict JSON refuses, form-encoded bodies and
 *    bodies without a Content-Type read as JSON, its own nesting cap, and a JSON document followed by
 *    raw bytes (`JsonWithBinary`, the length of the JSON in a request header; `application/octet-stream`
 *    accepted). The inference domain registers TF Serving's on /v1 and the serving protocols' on /v2;
 *  - routes under a prefix may have their own body limit (`bodyLimitByPrefix`, fixed before the routes
 *    are registered: Fastify reads a route's limit when the route is added).
 *
 * The depth pre-scan costs ~3 ms on a 2.5 MB body (one regex pass that skips numbers, strings by indexOf),
 * and is skipped when the body has no more opening brackets than the cap (a count by indexOf).
 */
import { parse as parseQueryString } from 'node:querystring';
import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse as secureParse, scan as secureScan } from 'secure-json-parse';
import { urlPath } from './url-path';

export const DEFAULT_MAX_JSON_DEPTH = 64;

export interface JsonBodyParserOptions {
  /** Largest body in bytes (413 past it). */
  bodyLimit: number;
  /** Deepest nesting of arrays/objects accepted (400 past it). */
  maxDepth?: number;
  /** Routes whose path starts with a prefix (`/v2` matches `/v2` and `/v2/…`) take this body limit instead. */
  bodyLimitByPrefix?: Record<string, number>;
}

/** How the routes under one URL prefix read their bodies, beyond plain JSON. */
export interface JsonBodyDialect {
  /** A second reading for a body that strict JSON refuses, tried when `applies(text)`; its result is still prototype-checked. */
  lenient?: { applies(text: string): boolean; parse(text: string): unknown };
  /** `application/x-www-form-urlencoded` bodies are JSON on these routes (elsewhere a query string). */
  formIsJson?: boolean;
  /** A request body without a Content-Type header is JSON on these routes (elsewhere 415). */
  untypedIsJson?: boolean;
  /** Deepest nesting accepted on these routes (instead of the parser's default). */
  maxDepth?: number;
  /**
   * A request with this header (lower case) carries a JSON document of that many bytes followed by raw
   * bytes: the body becomes a `JsonWithBinary`. `application/octet-stream` bodies are read on these
   * routes too (JSON alone without the header). Elsewhere octet-stream answers 415.
   */
  binaryHeader?: string;
  /** An empty body is the empty object `{}` on these routes (Triton reads an empty request so), not a 400. */
  emptyIsObject?: boolean;
}

/**
 * A request body made of a JSON document followed by raw bytes (see `JsonBodyDialect.binaryHeader`);
 * a declared JSON length of 0 means no JSON at all (`json` undefined): the whole body is bytes.
 */
export class JsonWithBinary {
  constructor(
    readonly json: unknown,
    readonly binary: Buffer,
  ) {}
}

/** Dialects by URL prefix; the longest matching prefix wins (a prefix matches itself and what lies below it). */
export class JsonBodyDialects {
  private readonly byPrefix: Array<[string, JsonBodyDialect]> = [];

  register(prefix: string, dialect: JsonBodyDialect): this {
    this.byPrefix.push([prefix, dialect]);
    this.byPrefix.sort((a, b) => b[0].length - a[0].length);
    return this;
  }

  /** The dialect of a path (without the query string), if any. */
  forPath(path: string): JsonBodyDialect | undefined {
    return this.byPrefix.find(([prefix]) => underPrefix(path, prefix))?.[1];
  }
}

/** A prefix matches itself and what lies below it (asked on every request: no string is built). */
export function underPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path.charCodeAt(prefix.length) === 0x2f;
}

const STRUCTURE = /[[\]{}"]/g;

/**
 * Whether `text` holds more than `max` opening brackets (`[` or `{`, strings included): when it does
 * not, no nesting can be deeper than `max`. Two indexOf walks (vectorised in V8) that stop past `max`:
 * a record API body of one record has 3, so the character-by-character scan below is skipped.
 */
function openersExceed(text: string, max: number): boolean {
  let count = 0;
  for (const opener of ['{', '[']) {
    for (let at = text.indexOf(opener); at >= 0; at = text.indexOf(opener, at + 1)) if (++count > max) return true;
  }
  return false;
}

/** Deepest array/object nesting of a JSON text, scanning no further than `max + 1`. Strings are skipped. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  if (!openersExceed(text, max)) return false;
  STRUCTURE.lastIndex = 0;
  let depth = 0;
  let m: RegExpExecArray | null;
  while ((m = STRUCTURE.exec(text)) !== null) {
    const c = text.charCodeAt(m.index);
    if (c === 0x22) {
      let end = m.index;
      for (;;) {
        end = text.indexOf('"', end + 1);
        if (end < 0) return false; // unterminated string: JSON.parse reports it
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      STRUCTURE.lastIndex = end + 1;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else {
      depth--;
    }
  }
  return false;
}

const SECURE = { protoAction: 'error', constructorAction: 'error' } as const;

/** Parses one request body in a dialect; throws BadRequestException with the reason (`body: …`). */
export function parseJsonBody(text: string, dialect?: JsonBodyDialect, maxDepth = dialect?.maxDepth ?? DEFAULT_MAX_JSON_DEPTH): unknown {
  if (text.length === 0) {
    if (dialect?.emptyIsObject) return {};
    throw new BadRequestException('body: empty; send a JSON document');
  }
  if (jsonDepthExceeds(text, maxDepth))
    throw new BadRequestException(`body: JSON nesting depth exceeds maximum allowed limit (${maxDepth})`);
  try {
    return secureParse(text, SECURE);
  } catch (err) {
    const message = (err as Error).message;
    const lenient = dialect?.lenient;
    if (lenient?.applies(text)) {
      try {
        const value = lenient.parse(text);
        if (typeof value === 'object' && value !== null) secureScan(value, SECURE);
        return value;
      } catch (lenientErr) {
        throw new BadRequestException(`body: not valid JSON: ${(lenientErr as Error).message}`);
      }
    }
    throw new BadRequestException(`body: not valid JSON: ${message}`);
  }
}

/**
 * Reads a body in a dialect: with the dialect's binary header, the JSON part (that many bytes) and the
 * raw bytes after it; else the whole body as JSON.
 */
export function parseBodyInDialect(
  body: Buffer,
  headers: Record<string, string | string[] | undefined>,
  dialect: JsonBodyDialect | undefined,
  maxDepth = DEFAULT_MAX_JSON_DEPTH,
): unknown {
  const depth = dialect?.maxDepth ?? maxDepth;
  const header = dialect?.binaryHeader;
  const declared = header ? headers[header] : undefined;
  if (header === undefined || declared === undefined) return parseJsonBody(body.toString('utf8'), dialect, depth);
  const text = Array.isArray(declared) ? declared.join(',') : declared;
  const length = /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(length >= 0 && length <= body.length)) {
    throw new BadRequestException(
      `${header}: ${JSON.stringify(text.slice(0, 40))} must be the byte length of the JSON part of the body (0 to ${body.length})`,
    );
  }
  if (length === 0) return new JsonWithBinary(undefined, body);
  return new JsonWithBinary(parseJsonBody(body.subarray(0, length).toString('utf8'), dialect, depth), body.subarray(length));
}

function unsupportedMediaType(type: string | undefined): UnsupportedMediaTypeException {
  return new UnsupportedMediaTypeException(
    type === undefined ? 'Content-Type: missing; send application/json' : `Content-Type: ${type.slice(0, 80)} is not supported here`,
  );
}

/**
 * Registers the parser for `application/json` through Nest (`useBodyParser`), which then skips its
 * own default parsers at init. (Adding it straight on the Fastify instance before init makes Nest's
 * own registration fail with FST_ERR_CTP_ALREADY_PRESENT.) Call before `app.listen()`; `dialects`
 * is read per request, so domains may register theirs until the app listens (in `onModuleInit`).
 *
 * Also `application/x-www-form-urlencoded`: as JSON where the dialect says so (TF Serving's own
 * documentation sends JSON with `curl -d`), elsewhere as a query string (node:querystring, which
 * returns a prototype-less object like the parser Nest would have registered).
 */
export function installJsonBodyParser(app: NestFastifyApplication, options: JsonBodyParserOptions, dialects: JsonBodyDialects): void {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const fastify = app.getHttpAdapter().getInstance();
  const limits = Object.entries(options.bodyLimitByPrefix ?? {});
  // A route's own limit wins over its parser's (Fastify reads it when the route is added, before any dialect is registered).
  fastify.addHook('onRoute', (route) => {
    const limit = limits.find(([prefix]) => underPrefix(urlPath(route.url), prefix))?.[1];
    if (limit !== undefined) route.bodyLimit = limit;
  });
  // No Content-Type: Fastify would look for a catch-all parser and answer 415; where the dialect says so, the body is JSON.
  fastify.addHook('onRequest', (request, _reply, done) => {
    const { headers } = request;
    if (headers['content-type'] !== undefined) return done();
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0';
    if (hasBody && dialects.forPath(urlPath(request.url))?.untypedIsJson) {
      headers['content-type'] = 'application/json';
    }
    done();
  });
  app.useBodyParser('application/json', { bodyLimit: options.bodyLimit }, (request, body, done) => {
    try {
      done(null, parseBodyInDialect(body, request.headers, dialects.forPath(urlPath(request.url)), maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit: options.bodyLimit }, (request, body, done) => {
    const dialect = dialects.forPath(urlPath(request.url));
    try {
      done(
        null,
        dialect?.formIsJson ? parseBodyInDialect(body, request.headers, dialect, maxDepth) : parseQueryString(body.toString('utf8')),
      );
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Octet-stream is read (within the route's limit) only to be refused where no dialect takes binary bodies.
  app.useBodyParser('application/octet-stream', { bodyLimit: options.bodyLimit }, (request, body, done) => {
    const dialect = dialects.forPath(urlPath(request.url));
    try {
      if (!dialect?.binaryHeader) throw unsupportedMediaType('application/octet-stream');
      done(null, parseBodyInDialect(body, request.headers, dialect, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
