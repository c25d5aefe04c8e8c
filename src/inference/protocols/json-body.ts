/**
 * The JSON body parser of the HTTP server (registered for `application/json` on every route; the
 * serving protocols are the reason it exists):
 *
 *  - caps the nesting depth (default 64) before parsing, so `[[[[…` cannot make JSON.parse spend
 *    seconds on a 10 MB body (measured: 2 MB of nested brackets take JSON.parse ~0.6 s);
 *  - keeps Fastify's protection against `__proto__` / `constructor.prototype` keys (secure-json-parse,
 *    the library Fastify's own parser uses);
 *  - on `/v1` (TensorFlow Serving REST) also accepts the bare tokens `NaN`, `Infinity` and
 *    `-Infinity` as numbers, as TF Serving does. The fast path is plain JSON.parse; only a body that
 *    fails it and contains such a token is parsed again leniently.
 *
 * Why not json5 for the lenient path: it accepts the whole JSON5 superset (comments, single quotes,
 * unquoted keys, hex, trailing commas), which TF Serving refuses, and it is slow — measured on a
 * 2.5 MB `instances` body: JSON.parse 33 ms, json5 410 ms, the token rewrite below 77 ms. The depth
 * pre-scan costs ~3 ms on the same body (one regex pass that skips numbers, strings by indexOf).
 */
import { parse as parseQueryString } from 'node:querystring';
import { BadRequestException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse as secureParse, scan as secureScan } from 'secure-json-parse';

export const DEFAULT_MAX_JSON_DEPTH = 64;

export interface ServingJsonParserOptions {
  /** Largest body in bytes (413 past it). */
  bodyLimit: number;
  /** Deepest nesting of arrays/objects accepted (400 past it). */
  maxDepth?: number;
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

/** Strings (kept as they are) or one of the non-finite tokens outside strings. */
const NON_FINITE_OR_STRING = /"[^"\\]*(?:\\.[^"\\]*)*"|-?Infinity|NaN/g;
const HAS_NON_FINITE = /NaN|Infinity/;

/**
 * JSON.parse that also reads the bare tokens NaN, Infinity and -Infinity outside strings.
 * ±Infinity become `±1e999` (JSON.parse itself reads that as ±Infinity); NaN becomes a string
 * placeholder with a random nonce that a reviver turns back into NaN.
 */
export function parseJsonWithNonFinite(text: string): unknown {
  const nonce = `\u0000NaN:${Math.random().toString(36).slice(2)}`;
  let sawNaN = false;
  const rewritten = text.replace(NON_FINITE_OR_STRING, (token) => {
    if (token.charCodeAt(0) === 0x22) return token;
    if (token === 'NaN') {
      sawNaN = true;
      return JSON.stringify(nonce);
    }
    return token.startsWith('-') ? '-1e999' : '1e999';
  });
  if (!sawNaN) return JSON.parse(rewritten);
  return JSON.parse(rewritten, (key, value) => {
    if (key === nonce) throw new SyntaxError('NaN is not a valid object key');
    return value === nonce ? NaN : value;
  });
}

const SECURE = { protoAction: 'error', constructorAction: 'error' } as const;

/** True for the routes whose bodies may carry NaN / Infinity tokens (TensorFlow Serving REST). */
export function allowsNonFiniteTokens(url: string): boolean {
  return url === '/v1' || url.startsWith('/v1/');
}

/** Parses one request body; throws BadRequestException with the reason (`body: …`). */
export function parseServingJson(text: string, url: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  if (text.length === 0) throw new BadRequestException('body: empty; send a JSON document');
  if (jsonDepthExceeds(text, maxDepth)) throw new BadRequestException(`body: JSON nesting deeper than ${maxDepth} levels`);
  try {
    return secureParse(text, SECURE);
  } catch (err) {
    const message = (err as Error).message;
    if (allowsNonFiniteTokens(url) && HAS_NON_FINITE.test(text)) {
      try {
        const value = parseJsonWithNonFinite(text);
        if (typeof value === 'object' && value !== null) secureScan(value, SECURE);
        return value;
      } catch (lenientErr) {
        throw new BadRequestException(`body: not valid JSON: ${(lenientErr as Error).message}`);
      }
    }
    throw new BadRequestException(`body: not valid JSON: ${message}`);
  }
}

/** /v1 and /v2: the serving protocols, whose bodies are JSON whatever the content type says. */
export function isServingPath(path: string): boolean {
  return /^\/v[12](\/|$)/.test(path);
}

/**
 * Registers the parser for `application/json` through Nest (`useBodyParser`), which then skips its
 * own default parsers at init. (Adding it straight on the Fastify instance before init makes Nest's
 * own registration fail with FST_ERR_CTP_ALREADY_PRESENT.) Call before `app.listen()`.
 *
 * Also `application/x-www-form-urlencoded`: `curl -d '{"instances": …}'` — the example of TF
 * Serving's own documentation — sends JSON under that type, and TF Serving reads it as JSON. On
 * /v1 and /v2 such a body is parsed as JSON; elsewhere as a query string (node:querystring, which
 * returns a prototype-less object like the parser Nest would have registered).
 */
export function installServingJsonParser(app: NestFastifyApplication, options: ServingJsonParserOptions): void {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const pathOf = (url: string) => url.split('?')[0] ?? url;
  app.useBodyParser('application/json', { bodyLimit: options.bodyLimit }, (request, body, done) => {
    try {
      done(null, parseServingJson(body.toString('utf8'), pathOf(request.url), maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit: options.bodyLimit }, (request, body, done) => {
    const path = pathOf(request.url);
    try {
      done(null, isServingPath(path) ? parseServingJson(body.toString('utf8'), path, maxDepth) : parseQueryString(body.toString('utf8')));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
