import 'reflect-metadata';
import { Logger as NestLogger, type ValidationPipe } from '@nestjs/common';
import { DiscoveryService, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { WorkerHost } from '@nestjs/bullmq';
import fastifyMultipart from '@fastify/multipart';
import fastifyCompress, { type FastifyCompressOptions } from '@fastify/compress';
import { PinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { bearerChallenge, presentedKey } from './platform/auth/api-key.guard';
import { ApiKeysService } from './platform/auth/api-keys.service';
import { registerConsoleAssets } from './platform/console/console-assets';
import { consoleBundleDir } from './platform/console/console-bundle';
import type { KilnConfig } from './platform/config/kiln-config';
import { EmbeddedPostgresServer } from './platform/database/embedded-postgres';
import { serveDirectRoutes } from './platform/http/direct-routes';
import { HttpErrorFilter, sendProblem } from './platform/http/http-error.filter';
import { installJsonBodyParser, JsonBodyDialects } from './platform/http/json-body';
import { createOpenApiDocument } from './platform/http/openapi';
import { ErrorFormats } from './platform/http/problem-details';
import { installNulParameterGuard } from './platform/http/stored-strings';
import { kilnValidationPipe } from './platform/http/validation';
import { runProcess, type EndsStreamsOnShutdown, type InterruptibleOnShutdown, type RunningKiln } from './platform/lifecycle/run-process';
import { checkDatabaseReachable, checkDataDirWritable, checkRedisReachable, StartupError } from './platform/lifecycle/startup-checks';
import { installAccessLog, KilnNestLogger, requestIdFor } from './platform/logging/logging';
import { installHttpMetrics } from './platform/metrics/http-metrics';
import { MetricsService } from './platform/metrics/metrics.service';
import { configureQueueBackend, migrateQueueSchema } from './platform/queues/queue-backend';
import { installQueueDashboard } from './platform/queues/queue-dashboard';
import { rpcServerOptions } from './platform/rpc/rpc';

/**
 * Runs a Kiln process until SIGTERM/SIGINT: the body of `src/main.ts` and of each `apps/<role>/main.ts`
 * (which only fix KILN_ROLES). Start-up problems print one line and exit 1; a signal drains and exits 0.
 */
export function runKilnProcess(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return runProcess(startKiln, env);
}

/**
 * Starts a Kiln process for `config.roles`: checks the data directory, resolves the database
 * (embedded PostgreSQL unless DATABASE_URL), checks Redis when configured, picks the queue backend,
 * then creates the Nest app on Fastify and listens. Problems before Nest exists are StartupErrors.
 */
export async function startKiln(config: KilnConfig, logger: Logger): Promise<RunningKiln> {
  const started = Date.now();
  await checkDataDirWritable(config.dataDir);
  let embedded: EmbeddedPostgresServer | undefined;
  let databaseUrl: string;
  if (config.database.mode === 'external') {
    databaseUrl = config.database.url!;
    await checkDatabaseReachable(databaseUrl);
  } else {
    embedded = new EmbeddedPostgresServer(config.dataDir, logger.child({ component: 'embedded-postgres' }));
    databaseUrl = await embedded.start();
  }
  let app: NestFastifyApplication | undefined;
  try {
    if (config.queues.redisUrl) await checkRedisReachable(config.queues.redisUrl);
    const queue = configureQueueBackend(config, databaseUrl);
    if (queue.backend === 'postgres') await migrateQueueSchema(databaseUrl);
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = config.http;
    const adapter = new FastifyAdapter({
      // Slow clients: node answers 408 and closes when headers (or the whole request, body included) take
      // longer than these; idle keep-alive connections close. Node checks the timers every
      // connectionsCheckingInterval (30 s by default), so check at least every second.
      http: {
        headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs),
        requestTimeout: requestTimeoutMs,
        connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs, requestTimeoutMs),
      },
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      bodyLimit: config.http.bodyLimitBytes,
      genReqId: requestIdFor,
      return503OnClosing: true,
      forceCloseConnections: 'idle',
    });
    app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoles(config, { databaseUrl, queue }), adapter, {
      bufferLogs: true,
      abortOnError: false,
    });
    app.useLogger(new KilnNestLogger(await app.resolve(PinoLogger), {}));
    // Multipart uploads are streamed by the handlers (request.file()); the limit answers 413 past it.
    await app.register(fastifyMultipart, {
      limits: { fileSize: config.http.uploadLimitBytes, files: 1, fields: 20, fieldSize: 1024 * 1024 },
    });
    // The web console's assets (its page, GET /, is the gateway's ConsoleModule).
    if (config.roles.includes('gateway') && !(await registerConsoleAssets(app, consoleBundleDir()))) {
      logger.warn(`web console not built (no ${consoleBundleDir()}/index.html): run npm run build; GET / answers 503`);
    }
    // Request bodies sent with Content-Encoding gzip or deflate are inflated (Triton accepts both; tritonclient
    // sends them); the body limit then bounds the inflated size. Inference answers (/v2 infer, /v1 predict,
    // classify, regress) are compressed with gzip or deflate when the client's Accept-Encoding asks for it
    // (tritonclient's and KServe's response compression), JSON and binary tensor bodies alike. Like Triton,
    // nothing else is: tritonclient's aio client sends aiohttp's default Accept-Encoding on every call
    // but inflates only inference answers.
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addHook('onRoute', (route) => {
      if (route.compress === undefined && isInferenceRoute(route.url, route.method)) route.compress = SERVING_RESPONSE_COMPRESSION;
    });
    await app.register(fastifyCompress, { globalCompression: false, globalDecompression: true, requestEncodings: ['gzip', 'deflate'] });
    // JSON bodies: depth cap and prototype guard everywhere; domains add their dialects (the serving protocols on /v1, /v2),
    // which have their own body limit.
    const servingLimit = config.http.servingBodyLimitBytes;
    installJsonBodyParser(
      app,
      { bodyLimit: config.http.bodyLimitBytes, bodyLimitByPrefix: { '/v1': servingLimit, '/v2': servingLimit } },
      app.get(JsonBodyDialects),
    );
    const lifecycle = { draining: false };
    const validationPipe = kilnValidationPipe();
    configureHttp(app, config, lifecycle, validationPipe);
    // The data plane's controllers (after the OpenAPI document, which reads them): Fastify routes without Nest's pipeline.
    serveDirectRoutes(app, validationPipe);
    installAccessLog(app.getHttpAdapter().getInstance(), logger);
    await installQueueDashboard(app);
    // Split deployment: a domain app also answers its message patterns over KILN_TRANSPORT (a hybrid app).
    // Its global filters and pipes are not inherited: handlers map their own errors (answerRpc).
    if (config.rpc.serve) {
      app.connectMicroservice(rpcServerOptions(config));
      await app.startAllMicroservices().catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EADDRINUSE' ? new StartupError(`KILN_RPC_PORT: ${config.http.host}:${config.rpc.port} is already in use`) : err;
      });
    }
    await app.listen({ port: config.http.port, host: config.http.host }).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EADDRINUSE' ? new StartupError(`PORT: ${config.http.host}:${config.http.port} is already in use`) : err;
    });
    const nest = app;
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : config.http.port;
    const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
    const startupMs = Date.now() - started;
    return {
      app,
      url: `http://${host}:${port}`,
      databaseUrl,
      startupMs,
      adminKeyCreated: app.get(ApiKeysService, { strict: false }).createdAdminKey,
      close: async () => {
        lifecycle.draining = true;
        await drain(nest);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * Response compression of inference answers: the encodings Triton answers (gzip, deflate), for JSON
 * (problem+json too) and the binary tensor extension's octet-stream bodies; bodies under 1 KiB stay
 * as they are (@fastify/compress's threshold: compressing them costs more than it saves).
 */
const SERVING_RESPONSE_COMPRESSION: Pick<FastifyCompressOptions, 'encodings' | 'customTypes' | 'threshold'> = {
  encodings: ['gzip', 'deflate'],
  customTypes: /^application\/(json|problem\+json|octet-stream)\b/,
  threshold: 1024,
};

/** The serving routes that answer inferences: /v2 …/infer, and POST under /v1 (:predict, :classify, :regress, :explain). */
function isInferenceRoute(url: string, method: string | string[]): boolean {
  const post = Array.isArray(method) ? method.includes('POST') : method === 'POST';
  return post && (/^\/v2\/models\/.+\/infer$/.test(url) || url.startsWith('/v1/'));
}

function configureHttp(
  app: NestFastifyApplication,
  config: KilnConfig,
  lifecycle: { draining: boolean },
  validationPipe: ValidationPipe,
): void {
  const fastify = app.getHttpAdapter().getInstance();
  const formats = app.get(ErrorFormats);
  const logger = new NestLogger('Http');
  app.useGlobalPipes(validationPipe);
  app.useGlobalFilters(new HttpErrorFilter(formats));
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // While draining, a response to an in-flight request also closes its keep-alive connection;
    // otherwise the server would wait for the client to hang up before it can finish closing.
    if (lifecycle.draining) reply.header('connection', 'close');
  });
  installHttpMetrics(fastify, app.get(MetricsService));
  // `%00` in a path or query parameter names nothing Kiln could store or find: 400 before any handler.
  installNulParameterGuard(fastify, (error, request, reply) => sendProblem(formats, error, request, reply, logger));

  if (config.docs !== 'off') {
    const document = createOpenApiDocument(app, config.version.package);
    if (config.docs === 'auth') {
      const keys = app.get(ApiKeysService);
      fastify.addHook('onRequest', async (request, reply) => {
        if (!/^\/docs(\/|-json|$)/.test(request.url)) return;
        const key = presentedKey(request.headers);
        if (!key || !(await keys.verify(key))) {
          void reply.header('www-authenticate', bearerChallenge(Boolean(key)));
          sendProblem(formats, Object.assign(new Error('an API key is required'), { statusCode: 401 }), request, reply, logger);
        }
      });
    }
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', swaggerOptions: { persistAuthorization: true } });
  }
}

/**
 * Shutdown order that loses nothing: end open event streams, stop accepting and finish in-flight HTTP
 * requests; then close every queue worker, which waits for its running job to finish (a job that
 * cannot finish is returned to the queue by BullMQ's lock expiry); then let Nest close queues and the
 * database pool.
 */
async function drain(app: NestFastifyApplication): Promise<void> {
  const log = new NestLogger('Shutdown');
  log.log('draining HTTP requests');
  const providers = app
    .get(DiscoveryService)
    .getProviders()
    .map((w) => w.instance as unknown);
  // Open event streams would keep the HTTP server from closing until their jobs end: end them first.
  for (const p of providers) (p as Partial<EndsStreamsOnShutdown> | null | undefined)?.endStreamsForShutdown?.();
  await app.getHttpAdapter().getInstance().close();
  const hosts = providers.filter((i): i is WorkerHost => i instanceof WorkerHost);
  const workers = hosts.map((host) => host.worker);
  // Long-running work (training) is handed back to its queue to resume at the next start, not waited for.
  for (const host of hosts) (host as Partial<InterruptibleOnShutdown>).interruptForShutdown?.();
  log.log(`closing ${workers.length} queue workers (running jobs finish first)`);
  await Promise.all(workers.map((w) => w.close()));
  await app.close();
  log.log('closed');
}
