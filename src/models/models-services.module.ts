import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ModelDeployments } from './deployments.service';
import { ModelAliasEntity, ModelAliasHistoryEntity } from './model-alias.entity';
import { ModelDeploymentEntity } from './model-deployment.entity';
import { ModelEntity } from './model.entity';
import { ModelRegistry } from './model-registry.service';
import { ModelServingSettingsEntity } from './model-serving-settings.entity';
import { ModelVersionEntity } from './model-version.entity';

/**
 * The registry's tables, `ModelRegistry` (for the models API and for training: registration) and
 * `ModelDeployments` (deployments, serving settings and the routing snapshot the inference runtime polls). No routes.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([
      ModelEntity,
      ModelVersionEntity,
      ModelAliasEntity,
      ModelAliasHistoryEntity,
      ModelDeploymentEntity,
      ModelServingSettingsEntity,
    ]),
  ],
  providers: [ModelRegistry, ModelDeployments],
  exports: [ModelRegistry, ModelDeployments],
})
export class ModelsServicesModule {}
