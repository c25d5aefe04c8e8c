import type { FastifyRequest } from 'fastify';
import { bearerChallenge, presentedKey } from './api-key.guard';
import type { ApiKeysService } from './api-keys.service';
import type { ApiRole, Principal } from './api-roles';

/**
 * Authentication for routes that are not Nest handlers (the queue dashboard, `/docs` with KILN_DOCS=auth),
 * which the global ApiKeyGuard never sees: the same key, read from `Authorization: Bearer` or `x-api-key`.
 * A browser session of the web console may be added here as a further way in, so every such route
 * accepts it at once.
 */
export type RequestAuth = { principal: Principal } | { status: 401 | 403; message: string; challenge?: string };

export async function authenticateRequest(
  request: Pick<FastifyRequest, 'headers'>,
  keys: Pick<ApiKeysService, 'verify'>,
  allowed?: readonly ApiRole[],
): Promise<RequestAuth> {
  const key = presentedKey(request.headers);
  if (!key)
    return { status: 401, message: 'an API key is required (Authorization: Bearer <key> or x-api-key)', challenge: bearerChallenge(false) };
  const principal = await keys.verify(key);
  if (!principal) return { status: 401, message: 'the API key is not valid or was revoked', challenge: bearerChallenge(true) };
  if (allowed && principal.role !== 'admin' && !allowed.includes(principal.role)) {
    return {
      status: 403,
      message: `role "${principal.role}" may not do this; allowed: admin${allowed.length ? `, ${allowed.join(', ')}` : ' only'}`,
    };
  }
  return { principal };
}
