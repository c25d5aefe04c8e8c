import { Module } from '@nestjs/common';
import { ModelsController } from './models.controller';
import { ModelsDataModule } from './models-data.module';

/** The model registry HTTP API; roles `gateway` and `training`. */
@Module({
  imports: [ModelsDataModule],
  controllers: [ModelsController],
})
export class ModelsModule {}
