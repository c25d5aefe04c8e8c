/**
 * The JSON body parser of the HTTP server (registered for `application/json` and
 * `application/x-www-form-urlencoded` on every route):
 *
 *  - caps the nesting depth (default 64) before parsing, so `[[[[…` cannot make JSON.parse spend
 *    seconds on a 10 MB body (measured: 2 MB of nested brackets take JSON.parse ~0.6 s);
 *  - keeps Fastify's protection against `__proto__` / `constructor.prototype` keys (secure-json-parse,
 *    the library Fastify's own parser uses);
 *  - lets a domain register a dialect for a family of routes by URL prefix (`JsonBodyDialects`, like
 *    `ErrorFormats`): a lenient second reading of a body strict JSON refuses, and form-encoded bodies
 *    read as JSON. The inference domain registers TF Serving's on /v1 and the serving protocols' on /v2.
 *
 * The depth pre-scan costs ~3 ms on a 2.5 MB body (one regex pass that skips numbers, strings by indexOf).
 */
import { parse as parseQueryString } from 'node:querystring';
import { BadRequestException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse as secureParse, scan as secureScan } from 'secure-json-parse';

export const DEFAULT_MAX_JSON_DEPTH = 64;

export interface JsonBodyParserOptions {
  /** Largest body in bytes (413 past it). */
  bodyLimit: number;
  /** Deepest nesting of arrays/objects accepted (400 past it). */
  maxDepth?: number;
}

/** How the routes under one URL prefix read their bodies, beyond plain JSON. */
export interface JsonBodyDialect {
  /** A second reading for a body that strict JSON refuses, tried when `applies(text)`; its result is still prototype-checked. */
  lenient?: { applies(text: string): boolean; parse(text: string): unknown };
  /** `application/x-www-form-urlencoded` bodies are JSON on these routes (elsewhere a query string). */
  formIsJson?: boolean;
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
    for (const [prefix, dialect] of this.byPrefix) {
      if (path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) return dialect;
    }
    return undefined;
  }
}

const STRUCTURE = /[[\]{}"]/g;

/** Deepest array/object nesting of a JSON text, scanning no further than `max + 1`. Strings are skipped. */
export function jsonDepthExceeds(text: string, max: number): boolean {
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
export function parseJsonBody(text: string, dialect?: JsonBodyDialect, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  if (text.length === 0) throw new BadRequestException('body: empty; send a JSON document');
  if (jsonDepthExceeds(text, maxDepth)) throw new BadRequestException(`body: JSON nesting deeper than ${maxDepth} levels`);
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
  const pathOf = (url: string) => url.split('?')[0] ?? url;
  app.useBodyParser('application/json', { bodyLimit: options.bodyLimit }, (request, body, done) => {
    try {
      done(null, parseJsonBody(body.toString('utf8'), dialects.forPath(pathOf(request.url)), maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit: options.bodyLimit }, (request, body, done) => {
    const dialect = dialects.forPath(pathOf(request.url));
    try {
      done(null, dialect?.formIsJson ? parseJsonBody(body.toString('utf8'), dialect, maxDepth) : parseQueryString(body.toString('utf8')));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
