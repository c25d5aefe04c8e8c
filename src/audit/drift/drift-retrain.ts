/**
 * The closed loop: on a drift verdict, queue a training job like the one that produced the drifted
 * version (same target, features, template, hyperparameters, split) on the newest ready version
 * of the configured dataset, with the configured promotion (`if-better` by default). It goes
 * through the training domain's own use case, so it is validated, stored and queued exactly like
 * `POST /api/training-jobs`.
 *
 * At most one retrain per (model, dataset version): a check that finds drift again while nothing
 * new was ingested does not queue the same training again, and a dataset whose newest version is
 * the one the drifted version was trained on is not retrained on (it would learn nothing new).
 */
import { HttpException, Injectable, Logger } from '@nestjs/common';
import { DRIFT_RETRAIN_CREATED_BY } from '../../platform/audit-trail/admin-event-outbox';
import type { EntityManager } from 'typeorm';
import { DatasetCatalog } from '../../ingestion';
import type { ModelLineage } from '../../models';
import { TrainingJobsService } from '../../training';
import type { OnDriftSettings, RetrainOutcome } from './drift-report';
import { DriftStore } from './drift-store';

/** Actor recorded on training jobs queued by the closed loop. */
export const DRIFT_RETRAIN_ACTOR = DRIFT_RETRAIN_CREATED_BY;

type CreateBody = Parameters<TrainingJobsService['create']>[0];

export interface DriftedVersion {
  model: string;
  version: number;
  /** The report being made (the cause recorded on the admin event). */
  reportId: string;
  trainingJobId: string | null;
  lineage: ModelLineage;
}

@Injectable()
export class DriftRetrain {
  private readonly logger = new Logger('DriftRetrain');

  constructor(
    private readonly catalog: DatasetCatalog,
    private readonly trainingJobs: TrainingJobsService,
    private readonly store: DriftStore,
  ) {}

  /** Runs inside the model's drift lock (`m`), so concurrent checks cannot queue the same retrain twice. */
  async onDrift(m: EntityManager, drifted: DriftedVersion, settings: OnDriftSettings): Promise<RetrainOutcome> {
    const datasetId = settings.retrainFromDatasetId;
    try {
      const latest = await this.catalog.getLatestReadyVersion(datasetId);
      const base = { datasetId: latest.datasetId, datasetVersionId: latest.id };
      if (latest.id === drifted.lineage.datasetVersionId) {
        return {
          status: 'skipped',
          ...base,
          reason: `the newest ready version of dataset ${datasetId} (v${latest.version}) is the one the drifted version was trained on`,
        };
      }
      const earlier = await this.store.retrainAlreadyQueued(m, drifted.model, latest.id);
      if (earlier)
        return {
          status: 'skipped',
          ...base,
          reason: `training job ${earlier} was already queued on dataset version ${latest.id} by an earlier drift report`,
        };
      if (!drifted.trainingJobId)
        return { status: 'skipped', ...base, reason: 'the drifted version has no training job to repeat (imported model)' };

      const { spec } = await this.trainingJobs.get(drifted.trainingJobId);
      const body = { ...spec, datasetVersionId: latest.id, modelName: drifted.model, promote: settings.promote } as CreateBody;
      // Started by no API key: the admin trail says so and names the drift report that caused it. The
      // job and this `training.started` event commit together (the training domain's outbox write).
      const actor = { requestId: `drift:${drifted.reportId}`, actorKeyId: null };
      const cause = { driftReportId: drifted.reportId, driftedVersion: drifted.version };
      const job = await this.trainingJobs.create(body, DRIFT_RETRAIN_ACTOR, actor, (j) => ({
        id: j.id,
        status: j.status,
        datasetVersionId: j.datasetVersionId,
        modelName: j.modelName,
        spec: j.spec,
        createdBy: DRIFT_RETRAIN_ACTOR,
        cause,
      }));
      this.logger.log({ model: drifted.model, trainingJobId: job.id, datasetVersionId: latest.id }, 'drift: retrain queued');
      return {
        status: 'queued',
        trainingJobId: job.id,
        datasetId: latest.datasetId,
        datasetVersionId: latest.id,
        datasetVersion: latest.version,
        promote: settings.promote,
      };
    } catch (e) {
      // A bad reference (dataset deleted, spec no longer valid on the new data) is reported, never fatal to the check.
      if (!(e instanceof HttpException)) throw e;
      const reason = e.message;
      this.logger.warn({ model: drifted.model, datasetId, reason }, 'drift: retrain not queued');
      return { status: 'failed', datasetId, reason };
    }
  }
}
