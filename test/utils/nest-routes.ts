/**
 * What a Kiln process with given roles serves and consumes, read from the Nest module graph of
 * `AppModule.forRoles` (decorator metadata; nothing is started or connected): its HTTP routes and the
 * queues its workers consume. Used to check deploy/ against the code (probe paths, KEDA queue keys).
 */
import 'reflect-metadata';
import { Logger, RequestMethod, type DynamicModule, type Type } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AppModule } from '../../src/app.module';
import type { KilnConfig } from '../../src/platform/config/kiln-config';
import { configureQueueBackend } from '../../src/platform/queues/queue-backend';

// @nestjs/bullmq keeps @Processor's metadata under this key and does not export the constant.
const PROCESSOR_METADATA = 'bullmq:processor_metadata';
// @nestjs/swagger's @ApiExcludeController / @ApiExcludeEndpoint keys (its package exports do not expose the constants).
const SWAGGER_EXCLUDE_CONTROLLER = 'swagger/apiExcludeController';
const SWAGGER_EXCLUDE_ENDPOINT = 'swagger/apiExcludeEndpoint';

type ModuleRef = Type | DynamicModule | { forwardRef: () => Type };

interface Graph {
  controllers: Type[];
  providers: unknown[];
}

function walk(root: ModuleRef): Graph {
  const seen = new Set<unknown>();
  const graph: Graph = { controllers: [], providers: [] };
  const visit = (ref: ModuleRef | undefined): void => {
    if (!ref) return;
    if ('forwardRef' in ref && typeof ref.forwardRef === 'function') return visit(ref.forwardRef());
    if (seen.has(ref)) return;
    seen.add(ref);
    const dynamic = 'module' in ref ? (ref as DynamicModule) : undefined;
    const cls = (dynamic ? dynamic.module : ref) as Type;
    const meta = (key: string): unknown[] => (Reflect.getMetadata(key, cls) as unknown[] | undefined) ?? [];
    graph.controllers.push(...(meta(MODULE_METADATA.CONTROLLERS) as Type[]), ...((dynamic?.controllers ?? []) as Type[]));
    graph.providers.push(...meta(MODULE_METADATA.PROVIDERS), ...(dynamic?.providers ?? []));
    for (const imported of [...meta(MODULE_METADATA.IMPORTS), ...(dynamic?.imports ?? [])]) visit(imported as ModuleRef);
  };
  visit(root);
  return graph;
}

const joinPath = (...parts: string[]) =>
  '/' +
  parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p !== '')
    .join('/');

export interface ProcessSurface {
  /** Every HTTP route as `GET /health/ready` (Nest route syntax: `:param`). */
  routes: Set<string>;
  /** The queues whose workers (`@Processor`) the process runs. */
  queues: Set<string>;
  /** Routes left out of the OpenAPI document on purpose (@ApiExcludeController / @ApiExcludeEndpoint), e.g. the console page. */
  undocumented: Set<string>;
}

/**
 * The routes and consumed queues of a process with `config.roles`. Building the module graph calls
 * each `forRoot` (TypeORM's logs a duplicate data source warning from the second call on: Nest's
 * logger is quietened to errors while it runs).
 */
export function processSurface(config: KilnConfig): ProcessSurface {
  const unused = 'postgres://unused@127.0.0.1:1/unused';
  Logger.overrideLogger(['error', 'fatal']);
  const graph = walk(AppModule.forRoles(config, { databaseUrl: unused, queue: configureQueueBackend(config, unused) }));
  Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
  const routes = new Set<string>();
  const undocumented = new Set<string>();
  for (const controller of new Set(graph.controllers)) {
    const base = Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined;
    const excluded = (Reflect.getMetadata(SWAGGER_EXCLUDE_CONTROLLER, controller) as boolean[] | undefined)?.[0] === true;
    // Microservice message handlers are @Controller() classes too, but their methods carry no HTTP method.
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      if (name === 'constructor') continue;
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      const hidden =
        excluded || (Reflect.getMetadata(SWAGGER_EXCLUDE_ENDPOINT, handler) as { disable?: boolean } | undefined)?.disable === true;
      for (const b of [base ?? ''].flat())
        for (const p of [path].flat()) {
          const route = `${RequestMethod[method]} ${joinPath(b, p)}`;
          routes.add(route);
          if (hidden) undocumented.add(route);
        }
    }
  }
  const queues = new Set<string>();
  for (const provider of graph.providers) {
    const cls = typeof provider === 'function' ? provider : (provider as { useClass?: unknown } | null)?.useClass;
    if (typeof cls !== 'function') continue;
    const meta = Reflect.getMetadata(PROCESSOR_METADATA, cls) as { name?: string } | undefined;
    if (meta?.name) queues.add(meta.name);
  }
  return { routes, queues, undocumented };
}
