import { PlatformApiKeys1764270000000 } from './1764270000000-platform-api-keys';
import { IngestionDatasets1764300000000 } from './1764300000000-ingestion-datasets';
import { TrainingModels1764400000000 } from './1764400000000-training-models';
import { ModelsArchivePromotion1764410000000 } from './1764410000000-models-archive-promotion';
import { TrainingTestPredictions1764450000000 } from './1764450000000-training-test-predictions';
import { ModelsDeploymentsServing1764500000000 } from './1764500000000-models-deployments-serving';
import { InferenceBatchPredictions1764510000000 } from './1764510000000-inference-batch-predictions';
import { AuditLog1764600000000 } from './1764600000000-audit-log';
import { AuditFeedback1764610000000 } from './1764610000000-audit-feedback';
import { AuditDrift1764620000000 } from './1764620000000-audit-drift';
import { AuditClientRequestId1764700000000 } from './1764700000000-audit-client-request-id';
import { AuditSkippedDriftCheckpoints1764710000000 } from './1764710000000-audit-skipped-drift-checkpoints';
import { PlatformAdminEventOutbox1764720000000 } from './1764720000000-platform-admin-event-outbox';
import { BatchScoringLineage1764740000000 } from './1764740000000-batch-scoring-lineage';
import { PlatformAdminEventOutboxHold1764800000000 } from './1764800000000-platform-admin-event-outbox-hold';
import { ModelsOnnxFormat1764810000000 } from './1764810000000-models-onnx-format';
import { ModelsServingEngine1764811000000 } from './1764811000000-models-serving-engine';
import { ModelsRecommender1764870000000 } from './1764870000000-models-recommender';
import { AuditStaging1764900000000 } from './1764900000000-audit-staging';
import { PlatformChangeEvents1764920000000 } from './1764920000000-platform-change-events';
import { BatchPredictionsRecommend1764970000000 } from './1764970000000-batch-predictions-recommend';
import { AuditClientRequestIdPartial1765000000000 } from './1765000000000-audit-client-request-id-partial';
import { AuditPredictionsSeqKey1765300000000 } from './1765300000000-audit-predictions-seq-key';
import { AuditStagingUncompressed1765410000000 } from './1765410000000-audit-staging-uncompressed';

/**
 * Every migration, oldest first. Listed explicitly (not globbed) so the same list works from
 * TypeScript sources and compiled output, and a forgotten file fails review rather than silently.
 */
export const MIGRATIONS = [
  PlatformApiKeys1764270000000,
  IngestionDatasets1764300000000,
  TrainingModels1764400000000,
  ModelsArchivePromotion1764410000000,
  TrainingTestPredictions1764450000000,
  ModelsDeploymentsServing1764500000000,
  InferenceBatchPredictions1764510000000,
  AuditLog1764600000000,
  AuditFeedback1764610000000,
  AuditDrift1764620000000,
  AuditClientRequestId1764700000000,
  AuditSkippedDriftCheckpoints1764710000000,
  PlatformAdminEventOutbox1764720000000,
  BatchScoringLineage1764740000000,
  PlatformAdminEventOutboxHold1764800000000,
  ModelsOnnxFormat1764810000000,
  ModelsServingEngine1764811000000,
  ModelsRecommender1764870000000,
  AuditStaging1764900000000,
  PlatformChangeEvents1764920000000,
  BatchPredictionsRecommend1764970000000,
  AuditClientRequestIdPartial1765000000000,
  AuditPredictionsSeqKey1765300000000,
  AuditStagingUncompressed1765410000000,
];
