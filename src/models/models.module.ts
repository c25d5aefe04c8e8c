import { Module } from '@nestjs/common';
import { DeploymentsController } from './deployments.controller';
import { ModelsController } from './models.controller';
import { ModelsServicesModule } from './models-services.module';

/** The model registry HTTP API; roles `gateway` and `training`. */
@Module({
  imports: [ModelsServicesModule],
  controllers: [ModelsController, DeploymentsController],
})
export class ModelsModule {}
