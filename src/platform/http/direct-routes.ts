/**
 * Controllers served straight on Fastify, without Nest's router pipeline: the data plane (the record
 * API, TF Serving /v1, Open Inference Protocol /v2), where Nest's per-call machinery (execution
 * context, guard and interceptor chains, rxjs, the exception zone) cost more CPU than the model
 * (issue 14's profile).
 *
 * A controller marked `@ServedDirectly()` keeps its Nest decorators and handlers: they stay the one
 * description of its routes (the OpenAPI document is built from them, roles included) and the one
 * implementation. `serveDirectRoutes` turns each of its handlers into a plain Fastify route on the
 * same Fastify instance, and takes the controller out of Nest's router. Each route runs the same
 * parts as a Nest route, and only those this codebase uses:
 *  - auth: `ApiKeyAuthenticator` (the global guard's core) with the handler's @Public/@Roles, read once;
 *  - arguments: @Body, @Query, @Param, @Headers through the same global validation pipe, @Req, @Res;
 *  - the answer: the adapter's own `reply()` with the handler's @HttpCode (else 201 for POST, 200);
 *  - errors: `sendProblem` with the error formats of `HttpErrorFilter`, for the handler's errors and
 *    for what Fastify refuses before it (body parser, body limit, content type);
 *  - a route parameter matched empty is a 404, as Nest's adapter answers it (`requireNonEmptyParams`).
 * Body parsing, compression, metrics, the access log, request ids and the serving answer audit are
 * Fastify hooks, the same for both kinds of route. Nest guards, interceptors and filters other than
 * these do not run: a controller that needs one (e.g. @Audited, @UseGuards) must stay with Nest, and
 * a parameter decorator this does not know refuses to start.
 */
import { Logger, RequestMethod, SetMetadata, type PipeTransform, type Type } from '@nestjs/common';
import {
  HTTP_CODE_METADATA,
  METHOD_METADATA,
  PATH_METADATA,
  RESPONSE_PASSTHROUGH_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer, Reflector } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { ApiKeyAuthenticator, routeAccess, type AuthenticatedRequest } from '../auth/api-key.guard';
import { sendProblem } from './http-error.filter';
import { ErrorFormats } from './problem-details';

const SERVED_DIRECTLY = 'kiln:served-directly';

/** Every route of this controller is a plain Fastify route (see the file's comment), not one of Nest's router. */
export const ServedDirectly = () => SetMetadata(SERVED_DIRECTLY, true);

type ArgumentOf = (request: FastifyRequest, reply: FastifyReply) => unknown;

const HTTP_METHODS: Partial<Record<RequestMethod, HTTPMethods>> = {
  [RequestMethod.GET]: 'GET',
  [RequestMethod.POST]: 'POST',
  [RequestMethod.PUT]: 'PUT',
  [RequestMethod.DELETE]: 'DELETE',
  [RequestMethod.PATCH]: 'PATCH',
};

/** What Nest's router does with a route's path: controller path and method path joined, one leading slash. */
function joinPath(...parts: unknown[]): string {
  for (const p of parts)
    if (typeof p !== 'string') throw new Error(`direct routes take one path per controller and handler, not ${String(p)}`);
  return (
    '/' +
    (parts as string[])
      .map((p) => p.replace(/^\/+|\/+$/g, ''))
      .filter((p) => p !== '')
      .join('/')
  );
}

/** The named parameters of a route path (`/v2/models/:name/versions/:version/infer` → name, version); not the `*` wildcard. */
export function routeParams(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

interface ArgumentPlan {
  /** The handler's arguments, each read from the request (and through the pipe where Nest pipes it). */
  args: Array<{ read: ArgumentOf; pipe?: { type: 'body' | 'query' | 'param' | 'custom'; data?: string; metatype?: Type } }>;
  /** The handler sends its own answer (@Res() without passthrough). */
  sendsItself: boolean;
}

/** The handler's parameter decorators as readers of the Fastify request; an unknown one is a start-up error. */
export function argumentPlan(cls: Type, name: string): ArgumentPlan {
  const meta = (Reflect.getMetadata(ROUTE_ARGS_METADATA, cls, name) ?? {}) as Record<
    string,
    { index: number; data?: unknown; pipes?: unknown[] }
  >;
  const types = (Reflect.getMetadata('design:paramtypes', cls.prototype, name) ?? []) as Type[];
  const plan: ArgumentPlan = { args: [], sendsItself: false };
  for (const [key, { index, data, pipes }] of Object.entries(meta)) {
    const type = Number(key.split(':')[0]) as RouteParamtypes;
    const where = `${cls.name}.${name} argument ${index}`;
    if (pipes?.length) throw new Error(`${where}: parameter pipes are not supported on a direct route`);
    if (data !== undefined && typeof data !== 'string' && type !== RouteParamtypes.RESPONSE)
      throw new Error(`${where}: only named or whole-object parameters`);
    const field = data as string | undefined;
    const metatype = types[index];
    const pick = (source: unknown) => (field === undefined ? source : (source as Record<string, unknown> | undefined)?.[field]);
    switch (type) {
      case RouteParamtypes.REQUEST:
        plan.args[index] = { read: (request) => request };
        break;
      case RouteParamtypes.RESPONSE:
        plan.args[index] = { read: (_request, reply) => reply };
        plan.sendsItself = Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, cls, name) !== true;
        break;
      case RouteParamtypes.BODY:
        plan.args[index] = { read: (request) => pick(request.body), pipe: { type: 'body', data: field, metatype } };
        break;
      case RouteParamtypes.QUERY:
        plan.args[index] = { read: (request) => pick(request.query), pipe: { type: 'query', data: field, metatype } };
        break;
      case RouteParamtypes.PARAM:
        plan.args[index] = { read: (request) => pick(request.params), pipe: { type: 'param', data: field, metatype } };
        break;
      default:
        throw new Error(`${where}: parameter decorator ${RouteParamtypes[type]} is not supported on a direct route`);
    }
  }
  return plan;
}

/**
 * Registers every handler of the `@ServedDirectly()` controllers as a Fastify route and removes those
 * controllers from Nest's router. Call after the OpenAPI document is built (it reads the controllers)
 * and before the app listens. `pipe` is the app's global validation pipe. Returns the routes added.
 */
export function serveDirectRoutes(app: NestFastifyApplication, pipe: PipeTransform): string[] {
  const fastify = app.getHttpAdapter().getInstance();
  const adapter = app.getHttpAdapter();
  const reflector = app.get(Reflector);
  const formats = app.get(ErrorFormats);
  const logger = new Logger('HttpError');
  const errorHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) =>
    sendProblem(formats, error, request, reply, logger);
  const added: string[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const [token, wrapper] of [...module.controllers]) {
      const cls = wrapper.metatype as Type | null;
      if (!cls || Reflect.getMetadata(SERVED_DIRECTLY, cls) !== true) continue;
      const auth = app.get(ApiKeyAuthenticator, { strict: false });
      const controller = wrapper.instance as Record<string, (...args: unknown[]) => unknown>;
      for (const name of Object.getOwnPropertyNames(cls.prototype)) {
        const handler = (cls.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const requestMethod = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (requestMethod === undefined) continue;
        const method = HTTP_METHODS[requestMethod];
        if (!method) throw new Error(`${cls.name}.${name}: method ${RequestMethod[requestMethod]} is not supported on a direct route`);
        const url = joinPath(Reflect.getMetadata(PATH_METADATA, cls), Reflect.getMetadata(PATH_METADATA, handler));
        const access = routeAccess(reflector, [handler, cls]);
        const status = (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ?? (method === 'POST' ? 201 : 200);
        const plan = argumentPlan(cls, name);
        const call = controller[name]!.bind(controller);
        const params = routeParams(url);
        fastify.route({
          method,
          url,
          errorHandler,
          handler: async (request, reply) => {
            // Nest's adapter sends a route parameter matched empty ("/v2/models//infer") to the not-found handler.
            for (const param of params) if ((request.params as Record<string, string>)[param] === '') return reply.callNotFound();
            await auth.authenticate(request as AuthenticatedRequest, reply, access);
            const args: unknown[] = new Array(plan.args.length);
            for (let i = 0; i < plan.args.length; i++) {
              const arg = plan.args[i]!;
              const value = arg.read(request, reply);
              args[i] = arg.pipe ? await pipe.transform(value, arg.pipe) : value;
            }
            const result = await call(...args);
            if (plan.sendsItself) return reply;
            return adapter.reply(reply, result, status) as FastifyReply;
          },
        });
        added.push(`${method} ${url}`);
      }
      module.controllers.delete(token);
    }
  }
  return added;
}
