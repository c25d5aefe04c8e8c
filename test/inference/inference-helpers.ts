/** Shared steps of the inference e2e tests: a real public table ingested, models trained through the API. */
import assert from 'node:assert/strict';
import { eventually, type KilnClient } from '../utils/test-kiln';
import { createDataset, penguinsRows, readyVersion, vegaFile } from '../ingestion/ingestion-helpers';

/** vega-datasets penguins as a ready dataset version. */
export async function penguinsVersion(kiln: KilnClient): Promise<{ id: string; datasetId: string }> {
  const datasetId = await createDataset(kiln, `penguins-${Math.random().toString(36).slice(2, 8)}`);
  const v = await readyVersion(kiln, datasetId, vegaFile('penguins.json'), { fileName: 'penguins.json' });
  return { id: v.id, datasetId };
}

export interface TrainOptions {
  datasetVersionId: string;
  modelName: string;
  target: string;
  template?: string;
  features?: string[];
  hyperparameters?: Record<string, unknown>;
  promote?: 'always' | 'never' | 'if-better';
}

/** Queues a training job and waits for its version; returns the version number. */
export async function trainModel(kiln: KilnClient, o: TrainOptions): Promise<number> {
  const res = await kiln.request('POST', '/api/training-jobs', {
    body: {
      datasetVersionId: o.datasetVersionId,
      target: o.target,
      modelName: o.modelName,
      ...(o.template ? { template: o.template } : {}),
      ...(o.features ? { features: o.features } : {}),
      hyperparameters: { epochs: 8, batchSize: 16, learningRate: 0.01, hiddenUnits: [16], seed: 7, ...o.hyperparameters },
      promote: o.promote ?? 'never',
    },
  });
  assert.equal(res.status, 202, res.text);
  const job = await eventually(
    async () => {
      const r = await kiln.request('GET', `/api/training-jobs/${res.body.id}`);
      if (r.body.status === 'failed' || r.body.status === 'cancelled') assert.fail(`job ${r.body.status}: ${JSON.stringify(r.body.error)}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    },
    90_000,
    200,
  );
  return job.modelVersion.version as number;
}

export const PENGUIN_FEATURES = ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Sex'];

/** Penguin records with the model's features only (missing values stay null, which the record API allows). */
export function penguinRecords(n: number, offset = 0): Array<Record<string, unknown>> {
  return penguinsRows()
    .slice(offset, offset + n)
    .map((r) => Object.fromEntries(PENGUIN_FEATURES.map((f) => [f, r[f] ?? null])));
}

/** Waits until a batch prediction leaves queued/running; returns it (succeeded, failed or cancelled). */
export async function finishedBatchPrediction(kiln: KilnClient, id: string, timeoutMs = 180_000): Promise<any> {
  return eventually(
    async () => {
      const r = await kiln.request('GET', `/api/batch-predictions/${id}`);
      assert.equal(r.status, 200, r.text);
      return r.body.status === 'queued' || r.body.status === 'running' ? undefined : r.body;
    },
    timeoutMs,
    100,
  );
}

/** The rows of a dataset version (e.g. a batch prediction's output), downloaded as NDJSON. */
export async function downloadedRows(kiln: KilnClient, datasetId: string, versionId: string): Promise<any[]> {
  const res = await fetch(`${kiln.url}/api/datasets/${datasetId}/versions/${versionId}/download?format=ndjson`, {
    headers: { authorization: `Bearer ${kiln.adminKey}` },
  });
  assert.equal(res.status, 200);
  return (await res.text())
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}
