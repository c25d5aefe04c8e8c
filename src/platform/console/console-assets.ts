import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyStatic from '@fastify/static';
import { CONSOLE_ASSETS_PREFIX, consoleBuilt } from './console-bundle';

/**
 * Serves the console bundle's files under /console/ with @fastify/static (hashed names: cached for a year).
 * Registered by the bootstrap before the app listens, like the other Fastify plugins: a plugin registered
 * from a module's init hook ends up ahead of Kiln's own error handling for request bodies.
 * Returns false when there is no bundle (GET / then answers 503 saying how to build it).
 */
export async function registerConsoleAssets(app: NestFastifyApplication, dir: string): Promise<boolean> {
  if (!consoleBuilt(dir)) return false;
  await app.register(fastifyStatic, {
    root: dir,
    prefix: CONSOLE_ASSETS_PREFIX,
    index: false,
    wildcard: true,
    decorateReply: false,
    setHeaders: (res, path) => {
      void res.header('x-content-type-options', 'nosniff');
      if (path.includes('/assets/')) void res.header('cache-control', 'public, max-age=31536000, immutable');
    },
  });
  return true;
}
