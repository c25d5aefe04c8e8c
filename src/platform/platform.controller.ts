import { InjectQueue } from '@nestjs/bullmq';
import { Body, Controller, Get, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from './http/openapi';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { JobName, jobId, PlatformPingResult, QueueName } from '../contracts';
import { Roles } from './auth/api-roles';
import { KILN_CONFIG, KilnConfig } from './config/kiln-config';
import { PingDto } from './platform.dto';
import { QueueInspector } from './queues/queue-inspector';
import { QUEUE_CONNECTION } from './queues/queues.module';
import type { QueueConnection } from './queues/queue-backend';
import { servingEngines } from './tfjs/serving-engines';

@ApiTags('platform')
@Controller('api/platform')
export class PlatformController {
  constructor(
    @InjectQueue(QueueName.Platform) private readonly platformQueue: Queue,
    @Inject(QUEUE_CONNECTION) private readonly queue: QueueConnection,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    private readonly inspector: QueueInspector,
  ) {}

  @Get()
  @ApiOperation({ summary: 'This process: roles, queue backend, database mode, serving engines (TF.js backend, ONNX Runtime)' })
  @ApiResponse({
    status: 200,
    schema: objectSchema({
      roles: S.array(S.string),
      queueBackend: { type: 'string', enum: ['redis', 'postgres'] },
      database: S.string,
      pid: S.integer,
      engines: S.object('tfjs {backend, provider, version, requested, skipped}; onnxruntime {provider, version, executionProviders}'),
    }),
  })
  info() {
    return {
      roles: this.config.roles,
      queueBackend: this.queue.backend,
      database: this.config.database.mode,
      pid: process.pid,
      engines: servingEngines(),
    };
  }

  /** A round trip through the queue backend: enqueue a ping job and wait for a worker's answer. */
  @Post('ping')
  @Roles('admin')
  @ApiOperation({ summary: 'Round trip through the queue backend (diagnostic)' })
  @ApiResponse({ status: 201, schema: objectSchema({ jobId: S.string, message: S.string, answeredBy: S.string, answeredAt: S.dateTime }) })
  async ping(@Body() body: PingDto): Promise<PlatformPingResult & { jobId: string }> {
    const id = jobId(JobName.PlatformPing, randomUUID());
    await this.platformQueue.add(
      JobName.PlatformPing,
      { payloadVersion: 1, message: body.message, delayMs: body.delayMs },
      { jobId: id, attempts: 1 },
    );
    const result = await this.inspector.waitForResult<PlatformPingResult>(QueueName.Platform, id, (body.delayMs ?? 0) + 30_000);
    return { ...result, jobId: id };
  }
}
