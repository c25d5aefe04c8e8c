/** Importing a TF.js layers model through the registry API, as a client that trained it elsewhere would. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ModelBytes } from '../../src/platform/tfjs/artifact-io';
import type { KilnClient, TestResponse } from '../utils/test-kiln';

export interface TensorSignature {
  inputs: Array<{ name: string; dtype: string; shape: number[] }>;
  outputs: Array<{ name: string; dtype: string; shape: number[] }>;
}

/** What TF.js's own save API (not Kiln's) hands a save handler: the artifacts, and their weights as one buffer. */
export async function savedByTfjsApi(model: {
  save(h: tf.io.IOHandler): Promise<tf.io.SaveResult>;
}): Promise<{ artifacts: tf.io.ModelArtifacts; weights: Buffer }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  return {
    artifacts: a,
    weights: Buffer.concat((Array.isArray(a.weightData) ? a.weightData : [a.weightData!]).map((b) => Buffer.from(b))),
  };
}

/** Saves with TF.js's own save API and uploads model.json + one shard + the signature; returns the shard. */
export async function importLayersModel(
  kiln: KilnClient,
  name: string,
  model: tfl.LayersModel,
  signature: TensorSignature,
): Promise<Buffer> {
  const { artifacts: a, weights } = await savedByTfjsApi(model);
  const form = new FormData();
  form.append('signature', JSON.stringify(signature));
  const modelJson = {
    modelTopology: a.modelTopology,
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }],
  };
  form.append('model', new Blob([JSON.stringify(modelJson)]), 'model.json');
  form.append('weights', new Blob([weights]), 'w.bin');
  const res = await fetch(`${kiln.url}/api/models/${name}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kiln.adminKey}` },
    body: form,
  });
  assert.equal(res.status, 201, await res.text());
  return weights;
}

/**
 * Uploads a TF.js graph model with its signature as a new version of `name`; its weights (if any) as the
 * one shard file its manifest names. The answer, unchecked.
 */
export function uploadGraphModel(kiln: KilnClient, name: string, bytes: ModelBytes, signature: object): Promise<TestResponse> {
  const form = new FormData();
  form.append('signature', JSON.stringify(signature));
  form.append('model', new Blob([JSON.stringify(bytes.modelJson)]), 'model.json');
  const shard = bytes.modelJson.weightsManifest[0]?.paths[0];
  if (shard) form.append('weights', new Blob([bytes.weights]), shard);
  return kiln.request('POST', `/api/models/${name}/versions`, { body: form });
}

/** Imports a TF.js graph model as a new version of `name`; returns its number. */
export async function importGraphVersion(kiln: KilnClient, name: string, bytes: ModelBytes, signature: object): Promise<number> {
  const res = await uploadGraphModel(kiln, name, bytes, signature);
  assert.equal(res.status, 201, res.text);
  return res.body.version as number;
}

/** Imports a TF.js graph model with its signature and points `production` at version 1. */
export async function importGraphModel(kiln: KilnClient, name: string, bytes: ModelBytes, signature: object): Promise<void> {
  await importGraphVersion(kiln, name, bytes, signature);
  const alias = await kiln.request('PUT', `/api/models/${name}/aliases/production`, { body: { version: 1 } });
  assert.equal(alias.status, 200, alias.text);
}
