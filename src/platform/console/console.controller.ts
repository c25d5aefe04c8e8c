import { Controller, Get, Header, Headers, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import Negotiator from 'negotiator';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Public } from '../auth/api-roles';
import { CONSOLE_DIR } from './console.tokens';

/** KServe V1's server liveness answer (`GET /`), which its `InferenceRESTClient.is_server_live` reads. */
export const KSERVE_LIVENESS = { status: 'alive' } as const;

/**
 * The media types `GET /` can answer, in the order preferred when the client ranks them equally:
 * `*` / `*` (KServe's client, curl, most HTTP libraries) or no Accept at all → the liveness JSON; a
 * browser lists `text/html` above its `*` / `*` and gets the console.
 */
const ROOT_TYPES = ['application/json', 'text/html'];

/**
 * `GET /`: the web console's page for browsers, and KServe V1's liveness JSON `{"status": "alive"}` for
 * every other client. Both protocols own the path; the request's `Accept` decides (content negotiation
 * with q-values, by the `negotiator` package): `text/html` ranked above JSON → the page, anything else
 * → the JSON. `Vary: Accept` keeps caches from mixing the two. The page is public like any static page:
 * it holds no data, asks for an API key and calls the API with it. Its views are client-side hash routes
 * (`/#/models/…`), so nothing under /api, /v1, /v2, /docs, /health, /metrics or /admin is ever shadowed.
 */
@ApiExcludeController()
@Controller()
export class ConsoleController {
  private page: Promise<string> | null = null;

  constructor(@Inject(CONSOLE_DIR) private readonly dir: string) {}

  @Get()
  @Public()
  @Header('cache-control', 'no-cache')
  @Header('vary', 'Accept')
  @Header('x-content-type-options', 'nosniff')
  @Header('referrer-policy', 'no-referrer')
  async index(
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string | typeof KSERVE_LIVENESS> {
    if (!wantsPage(accept)) {
      void reply.header('content-type', 'application/json; charset=utf-8');
      return KSERVE_LIVENESS;
    }
    void reply.header('content-type', 'text/html; charset=utf-8');
    this.page ??= readFile(join(this.dir, 'index.html'), 'utf8');
    try {
      return await this.page;
    } catch {
      this.page = null;
      throw new ServiceUnavailableException('the web console is not built: run npm run build (it runs vite build)');
    }
  }
}

/** True when the client ranks `text/html` above JSON (a browser's navigation request). */
export function wantsPage(accept: string | undefined): boolean {
  return new Negotiator({ headers: { accept } }).mediaType(ROOT_TYPES) === 'text/html';
}
