import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Exposure } from '../config/kiln-config';
import { ProtectedMetricsController, PublicMetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({})
export class MetricsModule {
  /** `public`: no key; `auth`: an admin or auditor key; `off`: the route does not exist. */
  static forRoot(exposure: Exposure): DynamicModule {
    const controllers = { public: [PublicMetricsController], auth: [ProtectedMetricsController], off: [] }[exposure];
    return { module: MetricsModule, controllers, providers: [MetricsService], exports: [MetricsService] };
  }
}
