import { DynamicModule, Module } from '@nestjs/common';
import type { KilnConfig } from './platform/config/kiln-config';
import { PlatformModule, PlatformRuntime } from './platform/platform.module';
import { PlatformWorkersModule } from './platform/queues/platform-workers.module';
import { ConsoleModule } from './platform/console/console.module';
import { IngestionModule, IngestionRpcModule, IngestionWorkersModule } from './ingestion';
import { ModelsModule } from './models';
import { TrainingModule, TrainingWorkersModule } from './training';
import { BatchPredictionsModule, BatchPredictionsWorkersModule, InferenceModule } from './inference';
import { AuditModule, AuditSinkModule, AuditWorkersModule } from './audit';

/**
 * Composition root. Roles differ only in which modules are imported here: every process has the
 * platform kernel and can produce on every queue; a domain's HTTP API, message handlers and queue
 * workers come only with the roles that own them.
 */
@Module({})
export class AppModule {
  static forRoles(config: KilnConfig, runtime: PlatformRuntime): DynamicModule {
    const imports: DynamicModule['imports'] = [PlatformModule.forRoot(config, runtime), PlatformWorkersModule, AuditSinkModule];
    const roles = new Set(config.roles);
    if (roles.has('gateway')) imports.push(ConsoleModule);
    if (roles.has('gateway') || roles.has('ingestion')) imports.push(IngestionModule);
    if (roles.has('ingestion')) imports.push(IngestionWorkersModule, IngestionRpcModule);
    if (roles.has('gateway') || roles.has('training')) imports.push(TrainingModule, ModelsModule);
    if (roles.has('training')) imports.push(TrainingWorkersModule.forRoot(config.training));
    if (roles.has('gateway') || roles.has('inference')) imports.push(BatchPredictionsModule);
    if (roles.has('inference')) imports.push(InferenceModule, BatchPredictionsWorkersModule);
    if (roles.has('gateway') || roles.has('audit')) imports.push(AuditModule);
    if (roles.has('audit')) imports.push(AuditWorkersModule);
    return { module: AppModule, imports };
  }
}
