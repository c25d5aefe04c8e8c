import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { HttpException, Logger } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Queue } from 'bullmq';
import { QueueName } from '../../contracts';
import { ApiKeysService } from '../auth/api-keys.service';
import { authenticateRequest } from '../auth/request-principal';
import { sendProblem } from '../http/http-error.filter';
import { ErrorFormats } from '../http/problem-details';
import { urlPath } from '../http/url-path';

/** Where the queue dashboard is served. */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board (the well-kept BullMQ dashboard) at /admin/queues on every queue the process registers
 * (every process registers all of them: any role can produce). Its BullMQ adapter reads both backends:
 * Redis, and BullMQ 6's PostgreSQL backend (whose server statistics it takes from the pool).
 * Admin only: the admin key as `Authorization: Bearer` or `x-api-key`, like every route; bull-board's
 * own routes are not Nest handlers, so an onRequest hook checks the key before any of them runs.
 */
export async function installQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const queues = Object.values(QueueName).map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name), { strict: false })));
  const serverAdapter = new BullBoardFastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues, serverAdapter, options: { uiConfig: { boardTitle: 'Kiln queues' } } });

  const fastify = app.getHttpAdapter().getInstance();
  const keys = app.get(ApiKeysService, { strict: false });
  const formats = app.get(ErrorFormats);
  const logger = new Logger('QueueDashboard');
  fastify.addHook('onRequest', async (request, reply) => {
    const path = urlPath(request.url);
    if (path !== QUEUE_DASHBOARD_PATH && !path.startsWith(`${QUEUE_DASHBOARD_PATH}/`)) return;
    const auth = await authenticateRequest(request, keys, []);
    if ('principal' in auth) return;
    if (auth.challenge) void reply.header('www-authenticate', auth.challenge);
    sendProblem(formats, new HttpException(auth.message, auth.status), request, reply, logger);
    return reply;
  });
  await app.register(serverAdapter.registerPlugin() as never, { prefix: QUEUE_DASHBOARD_PATH });
}
