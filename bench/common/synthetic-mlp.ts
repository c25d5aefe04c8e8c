/**
 * The synthetic model the serving benches share (bench/serve, bench/engines, bench/deploy): a seeded
 * binary table (`label` yes/no over numeric features f000…, bench/serve/fixture.ts) uploaded through
 * the ingestion API, and Kiln's `mlp` template trained on it through the training API.
 */
import { featureNames, generateTable } from '../serve/fixture';
import { until, type Api } from '../serve/kiln-server';

/** Uploads a generated table as a new dataset named `name`; resolves once its version is ready. */
export async function uploadSyntheticTable(
  api: Api,
  name: string,
  rows: number,
  features: number,
  seed: number,
): Promise<{ datasetId: string; versionId: string }> {
  const table = generateTable(rows, features, seed);
  const ds = await api('POST', '/api/datasets', { name });
  const accepted = await api('POST', `/api/datasets/${ds.id}/versions`, { records: table.records, schema: { columns: table.columns } });
  const version = await until(async () => {
    const v = await api('GET', `/api/datasets/${ds.id}/versions/${accepted.id}`);
    if (v.status === 'failed') throw new Error(`ingestion failed: ${v.failureReason}`);
    return v.status === 'ready' ? v : undefined;
  }, 100);
  return { datasetId: ds.id as string, versionId: version.id as string };
}

export interface SyntheticMlp {
  datasetVersionId: string;
  modelName: string;
  /** How many of the table's features the model uses (f000…). */
  features: number;
  hyperparameters: Record<string, unknown>;
  promote?: 'always' | 'never';
}

/** Trains `mlp` on the synthetic table (binary, positive class `yes`) and waits; resolves with the succeeded job. */
export async function trainSyntheticMlp(api: Api, o: SyntheticMlp): Promise<any> {
  const job = await api('POST', '/api/training-jobs', {
    datasetVersionId: o.datasetVersionId,
    target: 'label',
    task: 'binary',
    positiveClass: 'yes',
    features: featureNames(o.features),
    modelName: o.modelName,
    template: 'mlp',
    hyperparameters: o.hyperparameters,
    promote: o.promote ?? 'always',
  });
  return until(async () => {
    const j = await api('GET', `/api/training-jobs/${job.id}`);
    if (j.status === 'failed' || j.status === 'cancelled')
      throw new Error(`training ${o.modelName}: ${j.status} ${JSON.stringify(j.error)}`);
    return j.status === 'succeeded' ? j : undefined;
  }, 200);
}
