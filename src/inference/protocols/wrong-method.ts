/**
 * 405 Method Not Allowed for the serving protocols. Fastify answers a known path with an unknown
 * method as 404; on /v1 and /v2 the protocols want 405 with `{"error"}` and an `Allow` header.
 * An `onRequest` hook sees requests that matched no route (`request.is404`) and answers 405 when the
 * path is one of the protocol routes under another method. (Nest owns Fastify's not-found handler,
 * so this is a hook rather than a second handler.) The TF Serving controller, whose wildcard routes
 * take both GET and POST, uses `allowedMethods` itself for the other mismatches.
 */
import type { FastifyInstance } from 'fastify';
import { urlPath } from '../../platform/http/url-path';
import { isServingPath } from './json-body';
import { OIP_ROUTES } from './open-inference';
import { OIP_EXTENSION_ROUTES } from './oip-extensions';
import { allowedMethods, methodNotAllowed, type RouteMethods } from './route-methods';
import { TF_SERVING_ROUTES } from './tf-serving';

/** Answers 405 `{"error"}` + `Allow` for a known protocol path requested with a method it does not take. */
export function installWrongMethodAnswer(
  fastify: FastifyInstance,
  routes: readonly RouteMethods[] = [...TF_SERVING_ROUTES, ...OIP_ROUTES, ...OIP_EXTENSION_ROUTES],
): void {
  fastify.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return;
    const path = urlPath(request.url);
    if (!isServingPath(path)) return;
    const allow = allowedMethods(path, routes);
    if (allow.length === 0 || allow.includes(request.method)) return;
    await reply
      .status(405)
      .header('allow', allow.join(', '))
      .header('content-type', 'application/json')
      .send({ error: methodNotAllowed(request.method, path, allow).message });
  });
}
