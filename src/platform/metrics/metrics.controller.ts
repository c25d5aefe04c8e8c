import { Controller, Get, Header, Injectable, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, Roles } from '../auth/api-roles';
import { MetricsService } from './metrics.service';

/** `/metrics` in the Prometheus text format; exposure is chosen by KILN_METRICS (see MetricsModule). */
@Injectable() // so its constructor's parameter types are recorded for the subclasses below
abstract class MetricsEndpoint {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('cache-control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.registry.metrics();
    await reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}

@ApiExcludeController()
@Public()
@Controller('metrics')
export class PublicMetricsController extends MetricsEndpoint {}

@ApiExcludeController()
@Roles('auditor')
@Controller('metrics')
export class ProtectedMetricsController extends MetricsEndpoint {}
