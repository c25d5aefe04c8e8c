import { Controller, Get, Header, Injectable, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, Roles } from '../auth/api-roles';
import { MetricsService } from './metrics.service';

/**
 * `/metrics` in the Prometheus text format, also at TF Serving's `/monitoring/prometheus/metrics` (its
 * monitoring config's default path, which TF Serving scrape configs and tensorflow_model_server_test.py use);
 * exposure is chosen by KILN_METRICS (see MetricsModule).
 */
const METRICS_PATHS = ['metrics', 'monitoring/prometheus/metrics'];

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
@Controller(METRICS_PATHS)
export class PublicMetricsController extends MetricsEndpoint {}

@ApiExcludeController()
@Roles('auditor')
@Controller(METRICS_PATHS)
export class ProtectedMetricsController extends MetricsEndpoint {}
