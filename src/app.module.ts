import { DynamicModule, Module } from '@nestjs/common';
import type { KilnConfig } from './platform/config/kiln-config';
import { PlatformModule, PlatformRuntime } from './platform/platform.module';
import { PlatformWorkersModule } from './platform/queues/platform-workers.module';
import { ConsoleModule } from './platform/console/console.module';
import { IngestionModule, IngestionRpcModule, IngestionWorkersModule } from './ingestion';
import { ModelsModule, ModelsRpcModule } from './models';
import { TrainingModule, TrainingRpcModule, TrainingWorkersModule } from './training';
import {
  BatchPredictionsModule,
  BatchPredictionsRpcModule,
  BatchPredictionsWorkersModule,
  InferenceGatewayModule,
  InferenceModule,
  InferenceRpcModule,
} from './inference';
import { AuditModule, AuditRpcModule, AuditSinkModule, AuditWorkersModule } from './audit';

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
    // The message handlers of the domain services this process answers over KILN_TRANSPORT (none without it).
    const serves = new Set(config.rpc.serves ?? []);
    if (roles.has('gateway') || roles.has('ingestion')) imports.push(IngestionModule);
    if (roles.has('ingestion')) imports.push(IngestionWorkersModule);
    if (serves.has('ingestion')) imports.push(IngestionRpcModule);
    if (roles.has('gateway') || roles.has('training')) imports.push(TrainingModule, ModelsModule);
    if (roles.has('training')) imports.push(TrainingWorkersModule.forRoot(config.training));
    if (serves.has('training')) imports.push(TrainingRpcModule);
    if (serves.has('models')) imports.push(ModelsRpcModule);
    if (roles.has('gateway') || roles.has('inference')) imports.push(BatchPredictionsModule);
    if (roles.has('inference')) imports.push(InferenceModule, BatchPredictionsWorkersModule);
    else if (roles.has('gateway')) imports.push(InferenceGatewayModule);
    if (serves.has('inference')) imports.push(InferenceRpcModule);
    if (serves.has('batch')) imports.push(BatchPredictionsRpcModule);
    if (roles.has('gateway') || roles.has('audit')) imports.push(AuditModule);
    if (roles.has('audit')) imports.push(AuditWorkersModule);
    if (serves.has('audit')) imports.push(AuditRpcModule);
    return { module: AppModule, imports };
  }
}
