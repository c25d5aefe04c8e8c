/** Shared steps of the recommender e2e tests: interaction logs ingested as CSV, recommender jobs through the API. */
import assert from 'node:assert/strict';
import { eventually, type KilnClient } from '../utils/test-kiln';
import { createDataset, readyVersion } from '../ingestion/ingestion-helpers';
import type { PlantedInteraction } from '../support/planted-interactions';

export function interactionsCsv(rows: PlantedInteraction[]): string {
  const rated = rows[0]?.rating !== undefined;
  const head = rated ? 'user,item,ts,rating' : 'user,item,ts';
  return [head, ...rows.map((r) => (rated ? `${r.user},${r.item},${r.ts},${r.rating}` : `${r.user},${r.item},${r.ts}`))].join('\n') + '\n';
}

/** A CSV as a ready dataset version; returns its id. */
export async function csvVersion(kiln: KilnClient, name: string, csv: string): Promise<string> {
  const datasetId = await createDataset(kiln, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  const v = await readyVersion(kiln, datasetId, csv, { fileName: `${name}.csv` });
  return v.id as string;
}

/** Queues a recommender job and waits for it; returns the finished job. */
export async function trainRecommenderJob(kiln: KilnClient, body: Record<string, unknown>): Promise<any> {
  const res = await kiln.request('POST', '/api/training-jobs', { body: { template: 'recommender', ...body } });
  assert.equal(res.status, 202, res.text);
  return eventually(
    async () => {
      const r = await kiln.request('GET', `/api/training-jobs/${res.body.id}`);
      if (r.body.status === 'failed' || r.body.status === 'cancelled') assert.fail(`job ${r.body.status}: ${JSON.stringify(r.body.error)}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    },
    180_000,
    250,
  );
}
