/**
 * Public facade of the models domain (the registry):
 *  - `ModelsServicesModule` + `ModelRegistry`: register trained versions (inside the caller's transaction), read versions,
 *    apply a training job's promotion verdict (`productionVersion()` tells the job what to compare against);
 *  - `ModelDeployments` (also from `ModelsServicesModule`): deployments, serving settings and `routingSnapshot()`,
 *    the read model the inference runtime polls;
 *  - `VersionSelector` (`parseVersionSelector`, `resolveVersionSelector`, `ModelRegistry.selectVersion`): the one
 *    version-or-alias choice of every API that picks a version, with one set of 400/404 texts;
 *  - `ModelsModule`: the HTTP API, for the composition root only.
 */
export { ModelsServicesModule } from './models-services.module';
export { ModelsModule, ModelsRpcModule } from './models.module';
export { ModelRegistry, MODEL_NAME_PATTERN } from './model-registry.service';
export {
  ALIAS_PATTERN,
  SELECTOR_REASONS,
  IsAliasName,
  IsVersionNumber,
  parseVersionSelector,
  resolveVersionSelector,
  versionSelectorErrors,
} from './version-selector';
export type { VersionSelector } from './version-selector';
export { MAX_VERSION_NUMBER, parseVersionNumber, ParseVersionPipe } from './version-number';
export type { NewTrainedVersion, AliasChange } from './model-registry.service';
export type { ModelLineage, ModelVersionEntity } from './model-version.entity';
export type { NewImportedVersion } from './model-registry.service';
export { PROMOTE_MODES, PROMOTE_METRICS, ALL_PROMOTE_METRICS, LOWER_IS_BETTER } from './promotion';
export type { PromoteMode, PromotionDecision, ProductionVersion } from './promotion';
export { ModelDeployments } from './deployments.service';
export type { DeploymentView, ServingView } from './deployments.service';
export { SERVING_DEFAULTS, SERVING_BOUNDS } from './deployment-rules';
export type { BatchingKey, DeploymentInput, RouteInput, ServingSettings } from './deployment-rules';
export type { RoutingSnapshot, ModelRouting, RoutingRoute, VersionRef } from './routing-snapshot';
