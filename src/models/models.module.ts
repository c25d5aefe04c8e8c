import { Module } from '@nestjs/common';
import { DeploymentsController } from './deployments.controller';
import { ModelsController } from './models.controller';
import { ModelsDataModule } from './models-data.module';

/** The model registry HTTP API; roles `gateway` and `training`. */
@Module({
  imports: [ModelsDataModule],
  controllers: [ModelsController, DeploymentsController],
})
export class ModelsModule {}
