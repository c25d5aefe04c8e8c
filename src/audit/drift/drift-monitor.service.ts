/**
 * One drift check of one served model (job `audit.drift-check`): the newest window of its primary
 * version's live record-API traffic (inputs and predictions from the prediction log) against the
 * profile of the dataset version that version was trained on, feature by feature with the
 * protocols.md defaults (`compareToReference`); the predictions against the training target's
 * column. Stores the report, then alerts (webhook) and runs the closed loop (retrain) on a drift
 * verdict. A check that cannot say anything meaningful is skipped: it stores a `skipped` report with
 * the reason (and the served version and window rows when known), so the reports API shows why.
 */
import { ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AuditDriftCheckPayload, AuditDriftCheckResult } from '../../contracts';
import type { DatasetProfile } from '../../contracts/dataset-profile';
import { DatasetCatalog, type ReadyDatasetVersion } from '../../ingestion';
import { ModelDeployments, ModelRegistry, type ModelVersionEntity } from '../../models';
import { ArtifactStore } from '../../platform/artifacts';
import { KILN_CONFIG, type KilnConfig } from '../../platform/config/kiln-config';
import { compareToReference, histogramComparison, type HistogramComparison } from './statistics';
import { DriftAlerts } from './drift-alerts';
import type { PredictionDrift, StoredDriftReport } from './drift-report';
import { DriftRetrain } from './drift-retrain';
import { DriftStore } from './drift-store';
import { buildWindow, type DriftWindow } from './drift-window';
import { buildRecommendWindow, recommenderProfile, TOP_BUCKETS, type RecommenderPopularity } from './recommender-drift';
import { primaryVersion } from './served-version';

/** Fewer records than this say too little about a distribution: the check is skipped. */
export const MIN_WINDOW_ROWS = 30;

@Injectable()
export class DriftMonitor {
  private readonly logger = new Logger('DriftMonitor');

  constructor(
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    private readonly deployments: ModelDeployments,
    private readonly registry: ModelRegistry,
    private readonly catalog: DatasetCatalog,
    private readonly store: DriftStore,
    private readonly alerts: DriftAlerts,
    private readonly retrain: DriftRetrain,
    private readonly artifacts: ArtifactStore,
  ) {}

  async check(payload: AuditDriftCheckPayload): Promise<AuditDriftCheckResult> {
    const model = payload.model;
    const skip = async (skipped: string, modelVersion: number | null = null, rows = 0): Promise<AuditDriftCheckResult> => {
      const stored = await this.store.insertSkipped({ id: randomUUID(), model, modelVersion, rows, reason: skipped });
      this.logger.log({ model, skipped, reportId: stored.id }, 'drift check skipped');
      return { model, reportId: stored.id, drift: null, skipped };
    };

    const routing = (await this.deployments.routingSnapshot()).models.find((m) => m.name === model);
    if (!routing) return skip('the model is not served (no alias or deployment)');
    const served = primaryVersion(routing);
    if (!served) return skip('no version takes the main traffic (no deployment route resolves and no production alias)');
    const { version } = await this.registry.getVersion(model, served.version);
    const referenceId = version.lineage.datasetVersionId;
    if (!referenceId)
      return skip(`version ${served.version} was imported: there is no training dataset profile to compare with`, served.version);
    let reference: ReadyDatasetVersion;
    try {
      reference = await this.catalog.getReadyVersion(referenceId);
    } catch (e) {
      // Not retried: a missing reference stays missing.
      if (e instanceof NotFoundException || e instanceof ConflictException)
        return skip(`the training dataset version ${referenceId} is not readable: ${e.message}`, served.version);
      throw e;
    }

    if (version.task === 'recommendation') return this.checkRecommender(model, served.version, version, reference, skip);

    const target = version.target?.name ?? null;
    const features = version.lineage.features ?? Object.keys(reference.profile.columns).filter((c) => c !== target);
    const maxRows = this.config.audit.driftWindowRows;
    const window = buildWindow(await this.store.loggedPredictions(model, served.version, maxRows), features, maxRows);
    if (window.rows === 0 && window.hashedRequests > 0) {
      return skip(
        `the prediction log holds only input hashes for version ${served.version} (KILN_AUDIT_PAYLOADS=hash): nothing to compare`,
        served.version,
      );
    }
    if (window.rows < MIN_WINDOW_ROWS) {
      const off = this.config.audit.enabled ? '' : '; KILN_AUDIT=off: this deployment logs no predictions';
      const reason =
        `too few logged records for version ${served.version}: ${window.rows} < ${MIN_WINDOW_ROWS} ` +
        `(live record-API calls with status 200)${off}`;
      return skip(reason, served.version, window.rows);
    }

    const report = this.compare(reference, features, target, version.task, window, maxRows);
    return this.storeReport(model, served.version, version, reference, window, report);
  }

  /** Stores a completed report (and runs the closed loop on a drift verdict, under the model's lock), then alerts. */
  private async storeReport(
    model: string,
    servedVersion: number,
    version: ModelVersionEntity,
    reference: ReadyDatasetVersion,
    window: { from: Date | null; to: Date | null; rows: number },
    report: StoredDriftReport,
  ): Promise<AuditDriftCheckResult> {
    const served = { version: servedVersion };
    const settings = await this.store.settings(model);
    const reportId = randomUUID();
    const stored = await this.store.withModelLock(model, async (m) => {
      if (report.datasetDrift && settings.onDrift) {
        const trainingJobId = version.trainingJobId ?? version.lineage.trainingJobId ?? null;
        report.retrain = await this.retrain.onDrift(
          m,
          { model, version: served.version, reportId, trainingJobId, lineage: version.lineage },
          settings.onDrift,
        );
      }
      return this.store.insertReport(m, {
        id: reportId,
        model,
        modelVersion: served.version,
        windowFrom: window.from!,
        windowTo: window.to!,
        rows: window.rows,
        referenceDatasetVersionId: reference.id,
        drift: report.datasetDrift,
        driftedShare: report.driftedShare,
        report,
      });
    });
    this.logger.log(
      { model, version: served.version, reportId: stored.id, drift: stored.drift, driftedShare: stored.driftedShare },
      'drift check done',
    );
    if (stored.drift) await this.alerts.send(stored);
    return { model, reportId: stored.id, drift: stored.drift };
  }

  /**
   * A recommender version (recommender-drift.ts): who asks /recommend vs the training users' activity,
   * the items served vs the training items' popularity, the share of unknown users. The reference
   * counts come from the version's index artifact (training split); the report names the training
   * dataset version like any other.
   */
  private async checkRecommender(
    model: string,
    servedVersion: number,
    version: ModelVersionEntity,
    reference: ReadyDatasetVersion,
    skip: (reason: string, modelVersion?: number | null, rows?: number) => Promise<AuditDriftCheckResult>,
  ): Promise<AuditDriftCheckResult> {
    const rec = version.recommender;
    if (!rec) return skip(`version ${servedVersion} is a recommender without an index`, servedVersion);
    const maxRows = this.config.audit.driftWindowRows;
    const window = buildRecommendWindow(await this.store.loggedRecommendations(model, servedVersion, maxRows), maxRows);
    if (window.requests === 0 && window.hashedRequests > 0) {
      return skip(
        `the prediction log holds only input hashes for version ${servedVersion} (KILN_AUDIT_PAYLOADS=hash): nothing to compare`,
        servedVersion,
      );
    }
    if (window.requests < MIN_WINDOW_ROWS) {
      const off = this.config.audit.enabled ? '' : '; KILN_AUDIT=off: this deployment logs no predictions';
      return skip(
        `too few logged /recommend calls for version ${servedVersion}: ${window.requests} < ${MIN_WINDOW_ROWS} ` +
          `(live calls with status 200)${off}`,
        servedVersion,
        window.requests,
      );
    }
    const index = JSON.parse((await this.artifacts.getBuffer(rec.indexSha256)).toString('utf8')) as RecommenderPopularity;
    const { user, item } = rec.columns;
    const profile = recommenderProfile(index, { user, item });
    const inputs = compareToReference(profile, { columns: { [user]: window.users } }, { features: [user] });
    const items = compareToReference(profile, { columns: { [item]: window.items } }, { features: [item] });
    const itemResult = items.features[0] ?? null;
    const report: StoredDriftReport = {
      ...inputs,
      reference: {
        datasetVersionId: reference.id,
        datasetId: reference.datasetId,
        datasetName: reference.datasetName,
        datasetVersion: reference.version,
      },
      window: {
        from: window.from!.toISOString(),
        to: window.to!.toISOString(),
        rows: window.requests,
        requests: window.requests,
        maxRows,
      },
      histograms: Object.fromEntries(inputs.features.map((f) => [f.feature, histogramOf(profile, f.feature, window.users)!])),
      prediction: {
        target: item,
        task: 'recommendation',
        result: itemResult,
        skipped: itemResult ? null : (items.skipped[0]?.reason ?? 'not tested'),
        histogram: itemResult ? histogramOf(profile, item, window.items) : null,
      },
      recommender: {
        requests: window.requests,
        unknownUsers: window.unknownUsers,
        unknownUserShare: window.unknownUsers / window.requests,
        itemsServed: window.items.length,
        buckets: TOP_BUCKETS,
      },
      retrain: null,
    };
    return this.storeReport(model, servedVersion, version, reference, { from: window.from, to: window.to, rows: window.requests }, report);
  }

  /** Pure comparison of the window with the reference (inputs and predictions). */
  private compare(
    reference: ReadyDatasetVersion,
    features: readonly string[],
    target: string | null,
    task: string | null,
    window: DriftWindow,
    maxRows: number,
  ): StoredDriftReport {
    const profile = reference.profile;
    const inputs = compareToReference(profile, { columns: window.columns }, { features });
    const histograms: Record<string, HistogramComparison> = {};
    for (const f of inputs.features) histograms[f.feature] = histogramOf(profile, f.feature, window.columns[f.feature]!)!;
    return {
      ...inputs,
      reference: {
        datasetVersionId: reference.id,
        datasetId: reference.datasetId,
        datasetName: reference.datasetName,
        datasetVersion: reference.version,
      },
      window: { from: window.from!.toISOString(), to: window.to!.toISOString(), rows: window.rows, requests: window.requests, maxRows },
      histograms,
      prediction: target === null ? null : predictionDrift(profile, target, task, window),
      retrain: null,
    };
  }
}

function histogramOf(profile: DatasetProfile, column: string, values: readonly unknown[]): HistogramComparison | null {
  const p = profile.columns[column];
  return p && p.kind !== 'timestamp' ? histogramComparison(p, values) : null;
}

/** Predicted labels / values vs. the training data's target column, with the same rules as the inputs. */
function predictionDrift(profile: DatasetProfile, target: string, task: string | null, window: DriftWindow): PredictionDrift {
  const r = compareToReference(profile, { columns: { [target]: window.predictions } }, { features: [target] });
  const result = r.features[0] ?? null;
  return {
    target,
    task,
    result,
    skipped: result ? null : (r.skipped[0]?.reason ?? 'not tested'),
    histogram: result ? histogramOf(profile, target, window.predictions) : null,
  };
}
