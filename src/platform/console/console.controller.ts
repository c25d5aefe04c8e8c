import { Controller, Get, Header, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Public } from '../auth/api-roles';
import { CONSOLE_DIR } from './console.tokens';

/**
 * `GET /`: the web console's page. It is public like any static page: it holds no data, asks for an API key
 * and calls the API with it. Its views are client-side hash routes (`/#/models/…`), so nothing under /api,
 * /v1, /v2, /docs, /health, /metrics or /admin is ever shadowed.
 */
@ApiExcludeController()
@Controller()
export class ConsoleController {
  private page: Promise<string> | null = null;

  constructor(@Inject(CONSOLE_DIR) private readonly dir: string) {}

  @Get()
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-cache')
  @Header('x-content-type-options', 'nosniff')
  @Header('referrer-policy', 'no-referrer')
  async index(): Promise<string> {
    this.page ??= readFile(join(this.dir, 'index.html'), 'utf8');
    try {
      return await this.page;
    } catch {
      this.page = null;
      throw new ServiceUnavailableException('the web console is not built: run npm run build (it runs vite build)');
    }
  }
}
