import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeysService } from './api-keys.service';
import { ApiRole, Principal, PUBLIC_KEY, ROLES_KEY, STREAM_TOKEN_KEY } from './api-roles';
import { StreamTokensService } from './stream-tokens.service';

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

const BEARER = /^bearer\s+/i;

/** The presented key: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(headers: FastifyRequest['headers']): string | undefined {
  const auth = headers.authorization;
  const scheme = typeof auth === 'string' ? BEARER.exec(auth) : null;
  if (scheme) return auth!.slice(scheme[0].length).trim() || undefined;
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.trim() ? key.trim() : undefined;
}

/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3): the scheme alone when no key was sent,
 * `error="invalid_token"` when one was sent but is unknown, malformed or revoked.
 */
export function bearerChallenge(keyPresented: boolean): string {
  return keyPresented ? 'Bearer realm="kiln", error="invalid_token"' : 'Bearer realm="kiln"';
}

/** What a route demands of its caller, read from its handler's and controller's decorators. */
export interface RouteAccess {
  /** @Public(): no key needed. */
  isPublic: boolean;
  /** @Roles(): the roles allowed besides admin; undefined: any valid key. */
  roles?: ApiRole[];
  /** @AcceptsStreamToken(): `?token=` is accepted instead of a key. */
  streamToken: boolean;
}

/** The access rule of a handler (`targets`: the handler, then its controller class; the handler's decorators win). */
export function routeAccess(reflector: Reflector, targets: Parameters<Reflector['getAllAndOverride']>[1]): RouteAccess {
  return {
    isPublic: Boolean(reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)),
    roles: reflector.getAllAndOverride<ApiRole[] | undefined>(ROLES_KEY, targets),
    streamToken: Boolean(reflector.getAllAndOverride<boolean>(STREAM_TOKEN_KEY, targets)),
  };
}

/**
 * The API key check of every HTTP route, whoever routes it: Nest's global guard (ApiKeyGuard) and the
 * routes served straight on Fastify (platform/http/direct-routes.ts). Attaches the principal to the
 * request, or throws 401 (with its `WWW-Authenticate` challenge on the reply) or 403.
 */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly streamTokens: StreamTokensService,
  ) {}

  async authenticate(request: AuthenticatedRequest, reply: FastifyReply, access: RouteAccess): Promise<void> {
    if (access.isPublic) return;
    const key = presentedKey(request.headers);
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    let principal: Principal | null;
    if (!key && typeof token === 'string' && access.streamToken) {
      const checked = await this.streamTokens.verify(token, request.url.split('?')[0]!);
      if (!checked.ok) {
        void reply.header('www-authenticate', bearerChallenge(true));
        throw new UnauthorizedException(checked.reason);
      }
      principal = checked.principal;
    } else {
      if (!key) {
        void reply.header('www-authenticate', bearerChallenge(false));
        throw new UnauthorizedException(
          token === undefined
            ? 'an API key is required (Authorization: Bearer <key> or x-api-key)'
            : 'an API key is required (Authorization: Bearer <key> or x-api-key); ?token= opens only event streams',
        );
      }
      principal = await this.keys.verify(key);
      if (!principal) {
        void reply.header('www-authenticate', bearerChallenge(true));
        throw new UnauthorizedException('the API key is not valid or was revoked');
      }
    }
    request.principal = principal;
    const allowed = access.roles;
    if (allowed && principal.role !== 'admin' && !allowed.includes(principal.role)) {
      throw new ForbiddenException(`role "${principal.role}" may not do this; allowed: admin, ${allowed.join(', ')}`);
    }
  }
}

/** Global guard: every HTTP route Nest routes needs a valid API key unless marked @Public(); @Roles() narrows who. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: ApiKeyAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true; // microservice transports are authenticated by the network
    const access = routeAccess(this.reflector, [context.getHandler(), context.getClass()]);
    const http = context.switchToHttp();
    await this.auth.authenticate(http.getRequest<AuthenticatedRequest>(), http.getResponse<FastifyReply>(), access);
    return true;
  }
}
