/**
 * Public facade of the models domain (the registry):
 *  - `ModelsDataModule` + `ModelRegistry`: register trained versions (inside the caller's transaction), read versions;
 *  - `ModelsModule`: the HTTP API, for the composition root only.
 */
export { ModelsDataModule } from './models-data.module';
export { ModelsModule } from './models.module';
export { ModelRegistry, MODEL_NAME_PATTERN } from './model-registry.service';
export type { NewTrainedVersion, AliasChange } from './model-registry.service';
export type { ModelLineage } from './model-version.entity';
export type { NewImportedVersion } from './model-registry.service';
export { PROMOTE_MODES, PROMOTE_METRICS, ALL_PROMOTE_METRICS, LOWER_IS_BETTER, defaultPromoteMetric, decidePromotion } from './promotion';
export type { PromoteMode, PromotionDecision, CandidateEvaluation } from './promotion';
