import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { ConfigError, KilnConfig, loadConfig } from '../config/kiln-config';
import { createRootLogger } from '../logging/logging';
import { StartupError } from './startup-checks';

export interface RunningKiln {
  app: NestFastifyApplication;
  /** Base URL the HTTP server listens on, e.g. http://127.0.0.1:3000 */
  url: string;
  databaseUrl: string;
  startupMs: number;
  /** True when this start generated the first admin key and printed it (no KILN_ADMIN_KEY, no admin yet). */
  adminKeyCreated: boolean;
  /** Graceful stop: drain HTTP, let running jobs finish, close pools, stop embedded PostgreSQL. */
  close(): Promise<void>;
}

/**
 * A queue worker host whose jobs can run far longer than a shutdown may wait (training): the drain calls
 * this before closing the workers, and the host hands its running jobs back to the queue to resume later.
 */
export interface InterruptibleOnShutdown {
  interruptForShutdown(): void;
}

/**
 * A provider that holds HTTP responses open (server-sent events): the drain calls this before it closes
 * the HTTP server, which would otherwise wait for those responses to end (and a job's event stream ends
 * only with the job). The provider ends them; clients reconnect to another replica or after the restart.
 */
export interface EndsStreamsOnShutdown {
  endStreamsForShutdown(): void;
}

/** Starts the process's Nest app for a validated configuration (`startKiln` of `src/bootstrap.ts`, the composition root). */
export type StartKiln = (config: KilnConfig, logger: Logger) => Promise<RunningKiln>;

/**
 * Runs a Kiln process until SIGTERM/SIGINT, starting it with `startKiln` (passed in by the composition
 * root, so the platform imports no domain). Start-up problems print one line and exit 1; a signal drains
 * and exits 0.
 */
export async function runProcess(startKiln: StartKiln, env: NodeJS.ProcessEnv): Promise<void> {
  let config: KilnConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    fail(err);
  }
  const logger = createRootLogger(config);
  let kiln;
  try {
    kiln = await startKiln(config, logger);
  } catch (err) {
    fail(err, logger);
  }
  const running = kiln;
  logger.info(
    { url: running.url, roles: config.roles, database: config.database.mode, queues: config.queues.backend, startupMs: running.startupMs },
    'Kiln is ready',
  );
  process.stdout.write(
    `\n  Kiln ${config.roles.join(',')} listening on ${running.url}  (docs ${running.url}/docs, health ${running.url}/health/ready)\n` +
      adminKeyLine(config, running.adminKeyCreated) +
      '\n',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    running.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Where the admin key is, truthfully: printed just above on the start that created it, else in its file. */
function adminKeyLine(config: KilnConfig, created: boolean): string {
  if (config.adminKey) return '';
  const file = join(config.dataDir, 'admin.key');
  if (created) return `  Admin API key: printed above (shown once), and kept in ${file}\n`;
  if (existsSync(file)) return `  Admin API key: in ${file} (created on the first start)\n`;
  return `  Admin API key: created on the first start; ${file} has since been removed (an admin can create keys: POST /api/keys)\n`;
}

function fail(err: unknown, logger?: Logger): never {
  const known = err instanceof ConfigError || err instanceof StartupError || (err as Error)?.message?.startsWith('embedded PostgreSQL');
  const message = known ? (err as Error).message : `unexpected error during start-up: ${(err as Error)?.message ?? String(err)}`;
  if (!known) logger?.error({ err }, 'start-up failed');
  process.stderr.write(`kiln: cannot start: ${message}\n`);
  process.exit(1);
}
