/** The record API model both engine benches serve over HTTP: trained through the API, engine switched per cell. */
import { randomBytes } from 'node:crypto';
import { trainSyntheticMlp, uploadSyntheticTable } from '../common/synthetic-mlp';
import { featureNames, predictBody } from '../serve/fixture';
import { until, type Api } from '../serve/kiln-server';

export const SEED = 20251201;

/** The serve bench's two networks (sigmoid output): small 30 → 64 → 32 → 1, large 100 → 512 → 512 → 512 → 1. */
export const NETWORKS = [
  { key: 'small', features: 30, hiddenUnits: [64, 32] },
  { key: 'large', features: 100, hiddenUnits: [512, 512, 512] },
] as const;
export type Network = (typeof NETWORKS)[number];

/** Uploads the generated table, trains the network on it (1 epoch) and returns the record API call for one record. */
export async function trainRecordModel(api: Api, baseUrl: string, net: Network): Promise<{ name: string; url: string; body: string }> {
  const { versionId } = await uploadSyntheticTable(api, `bench-engines-${randomBytes(3).toString('hex')}`, 3000, net.features, SEED);
  const name = `bench-engines-${net.key}`;
  await trainSyntheticMlp(api, {
    datasetVersionId: versionId,
    modelName: name,
    features: net.features,
    hyperparameters: { epochs: 1, batchSize: 64, hiddenUnits: [...net.hiddenUnits], dropout: 0, earlyStoppingPatience: 0, seed: 7 },
  });
  return { name, url: `${baseUrl}/api/models/${name}/predict`, body: predictBody(featureNames(net.features), SEED + net.features) };
}

/**
 * Switches the model's engine (batching on: at most `maxBatchSize` rows, 32 unless told, no added delay)
 * and waits until it answers on it.
 */
export async function setEngine(api: Api, name: string, engine: 'tfjs' | 'onnxruntime', maxBatchSize = 32): Promise<void> {
  await api('PUT', `/api/models/${name}/serving`, { engine, maxBatchSize, maxQueueDelayMs: 0 });
  const platform = engine === 'tfjs' ? 'tensorflowjs_layers' : 'onnxruntime_onnx';
  await until(async () => ((await api('GET', `/v2/models/${name}`)).platform === platform ? true : undefined), 100, 60_000);
}
