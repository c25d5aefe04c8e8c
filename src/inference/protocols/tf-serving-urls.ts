/**
 * TensorFlow Serving's answers to URLs under /v1 that are none of its routes: 400 with its own
 * messages (http_rest_api_util.cc, http_rest_api_handler.cc), never 404 or 405, so that its clients
 * and its handler tests read the same errors from Kiln:
 *
 *  - a path that matches neither its POST regex (`…:classify|regress|predict`, and KServe's `:explain`) nor its GET regex
 *    (status, `/metadata`) for the method used → `Malformed request: <METHOD> <path>`
 *    (e.g. `GET /v1/models/foo:predict`, `POST /v1/models/foo/metadata`, `/versions/HELLO`);
 *  - `GET /v1/models` → `Missing model name in request.`;
 *  - a version that is no 64-bit integer → `Failed to convert version: <v> to numeric.`
 *    (a well-formed version that does not exist stays 404, as in TF Serving).
 *
 * TF Serving matches its regexes case-insensitively; Kiln's routes are case-sensitive, so the
 * expressions here are too (an upper-case path would be answered as malformed, never misrouted).
 */
import type { FastifyInstance } from 'fastify';
import { urlPath } from '../../platform/http/url-path';

// TF Serving's kPredictionApiGegex and kModelStatusApiRegex (http_rest_api_util.cc), without (?i);
// the POST one also takes KServe V1's `:explain`, which Kiln serves on the same paths.
const PREDICT = /^\/v1\/models\/([^/:]+)(?:(?:\/versions\/(\d+))|(?:\/labels\/([^/:]+)))?:(classify|regress|predict|explain)$/;
const STATUS = /^\/v1\/models(?:\/([^/:]+))?(?:(?:\/versions\/(\d+))|(?:\/labels\/([^/:]+)))?(?:\/(metadata))?$/;
const INT64_MAX = 2n ** 63n - 1n;

/** The 400 TF Serving answers for `method path` (path percent-decoded, no query), or null when it is one of its routes. */
export function tfServingUrlProblem(method: string, path: string): string | null {
  const m = method === 'POST' ? PREDICT.exec(path) : method === 'GET' || method === 'HEAD' ? STATUS.exec(path) : null;
  if (!m) return `Malformed request: ${method} ${path.slice(0, 300)}`;
  const [, name, version] = m;
  if (version !== undefined && BigInt(version) > INT64_MAX) return `Failed to convert version: ${version.slice(0, 40)} to numeric.`;
  if (!name) return 'Missing model name in request.';
  return null;
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** An `onRequest` hook answering TF Serving's 400s under /v1 before routing, auth or body parsing. */
export function installTfServingUrlAnswers(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', async (request, reply) => {
    const raw = urlPath(request.url);
    if (raw !== '/v1' && !raw.startsWith('/v1/')) return;
    const problem = tfServingUrlProblem(request.method, decoded(raw));
    if (problem === null) return;
    await reply.status(400).header('content-type', 'application/json').send({ error: problem });
  });
}
