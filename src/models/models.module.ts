import { Module } from '@nestjs/common';
import { DeploymentsController } from './deployments.controller';
import { ModelsController } from './models.controller';
import { ModelsServicesModule } from './models-services.module';
import { portProvider } from '../platform/rpc/port';
import { LocalModels, ModelsPort } from './models.port';
import { ModelsRpcController } from './models.rpc-controller';

/** The model registry HTTP API; roles `gateway` and `training`. */
@Module({
  imports: [ModelsServicesModule],
  controllers: [ModelsController, DeploymentsController],
  providers: [LocalModels, portProvider(ModelsPort, 'models', LocalModels)],
})
export class ModelsModule {}

/** The registry's message handlers, in the training app (role `training`); answered once bootstrap connects the transport. */
@Module({
  imports: [ModelsServicesModule],
  controllers: [ModelsRpcController],
  providers: [LocalModels, { provide: ModelsPort, useExisting: LocalModels }],
})
export class ModelsRpcModule {}
