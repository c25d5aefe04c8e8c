import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ModelAliasEntity, ModelAliasHistoryEntity } from './model-alias.entity';
import { ModelEntity } from './model.entity';
import { ModelRegistry } from './model-registry.service';
import { ModelVersionEntity } from './model-version.entity';

/** The registry's tables and `ModelRegistry`, for the models API and for training (registration). No routes. */
@Module({
  imports: [TypeOrmModule.forFeature([ModelEntity, ModelVersionEntity, ModelAliasEntity, ModelAliasHistoryEntity])],
  providers: [ModelRegistry],
  exports: [ModelRegistry],
})
export class ModelsDataModule {}
