import { Module } from '@nestjs/common';
import { consoleBundleDir } from './console-bundle';
import { ConsoleController } from './console.controller';
import { CONSOLE_DIR } from './console.tokens';

/**
 * The web console (front-end source in `console/`, bundled by `vite build` into dist/console): `GET /` serves
 * its page; its hashed assets under /console/ are served by @fastify/static (registerConsoleAssets, called by
 * the bootstrap). Imported by the gateway role.
 */
@Module({
  controllers: [ConsoleController],
  providers: [{ provide: CONSOLE_DIR, useFactory: () => consoleBundleDir() }],
})
export class ConsoleModule {}
