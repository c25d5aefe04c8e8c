/**
 * How /v1 and /v2 answer in JSON, success and error alike:
 *
 *  - bodies are written by the serving JSON writer (serving-json.ts: float32 precision, NaN and
 *    Infinity tokens) instead of JSON.stringify, through Fastify's per-reply serializer;
 *  - `Content-Type: application/json`, exactly. Fastify appends `; charset=utf-8` to JSON replies,
 *    TF Serving and Triton send none, and KServe's client reads an error's text only when the type is
 *    exactly `application/json` (with the suffix, Kiln's errors reached its users empty).
 *
 * Replies that are not JSON (the binary tensor extension's octet streams) pass untouched.
 */
import type { FastifyInstance } from 'fastify';
import { urlPath } from '../../platform/http/url-path';
import { isServingPath } from './json-body';
import { writeServingJson } from './serving-json';

const JSON_TYPE = /^application\/json\s*(;|$)/i;

export function installServingJsonReplies(fastify: FastifyInstance): void {
  const onServingPath = (url: string) => isServingPath(urlPath(url));
  fastify.addHook('preSerialization', async (request, reply, payload) => {
    if (onServingPath(request.url)) reply.serializer(writeServingJson);
    return payload;
  });
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (!onServingPath(request.url)) return payload;
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && JSON_TYPE.test(type)) void reply.header('content-type', 'application/json');
    return payload;
  });
}
