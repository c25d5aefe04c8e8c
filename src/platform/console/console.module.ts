import { Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { CONSOLE_ASSETS_PREFIX, consoleBuilt, consoleBundleDir } from './console-bundle';
import { ConsoleController } from './console.controller';
import { CONSOLE_DIR } from './console.tokens';

/**
 * The web console (front-end source in `console/`, bundled by `vite build` into dist/console): `GET /` serves
 * its page, @fastify/static its hashed assets under /console/ (cached for a year: a new build has new names).
 * Imported by the gateway role.
 */
@Module({
  controllers: [ConsoleController],
  providers: [{ provide: CONSOLE_DIR, useFactory: () => consoleBundleDir() }],
})
export class ConsoleModule implements OnModuleInit {
  private readonly logger = new Logger(ConsoleModule.name);

  constructor(
    private readonly adapter: HttpAdapterHost,
    @Inject(CONSOLE_DIR) private readonly dir: string,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!consoleBuilt(this.dir)) {
      this.logger.warn(`web console not built (no ${this.dir}/index.html): run npm run build; GET / answers 503`);
      return;
    }
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    await fastify.register(fastifyStatic, {
      root: this.dir,
      prefix: CONSOLE_ASSETS_PREFIX,
      index: false,
      wildcard: true,
      decorateReply: false,
      setHeaders: (res, path) => {
        void res.header('x-content-type-options', 'nosniff');
        if (path.includes('/assets/')) void res.header('cache-control', 'public, max-age=31536000, immutable');
      },
    });
  }
}
