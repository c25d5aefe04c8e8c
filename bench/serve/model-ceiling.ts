/**
 * The model ceiling of the serving benchmark: rows/s of an in-process `model.predict` of the very
 * model version Kiln serves (its bytes read from Kiln's artifact store, loaded with the same
 * `loadModelFromBytes`), on the same TF.js backend, at several batch sizes. Each call does what any
 * server must: a tensor from a Float32Array, predict, read the output back to the host, dispose.
 * The batch sizes take turns in 5 rounds and the median round counts (the machine is shared).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadModelFromBytes, type ModelBytes } from '../../src/platform/tfjs/artifact-io';
import { seededRandom } from './fixture';

export interface CeilingRow {
  batch: number;
  rowsPerSec: number;
  msPerCall: number;
}

const ROUNDS = 5;

export async function modelCeiling(bytes: ModelBytes, width: number, batches: number[], secondsEach: number): Promise<CeilingRow[]> {
  const loaded = await loadModelFromBytes(bytes);
  if (loaded.format !== 'layers-model') throw new Error('a trained Kiln model is a layers model');
  const model: tfl.LayersModel = loaded.model;
  const rand = seededRandom(99);
  const inputs = new Map(batches.map((b) => [b, Float32Array.from({ length: b * width }, () => rand() * 2 - 1)]));
  const call = (batch: number): void => {
    const x = tf.tensor2d(inputs.get(batch)!, [batch, width]);
    const y = model.predict(x) as tf.Tensor;
    y.dataSync();
    tf.dispose([x, y]);
  };
  /** Calls for `ms` milliseconds; returns ms per call. */
  const timed = (batch: number, ms: number): number => {
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      call(batch);
      calls++;
    }
    return (performance.now() - t0) / calls;
  };
  try {
    for (const b of batches) timed(b, 300); // warm-up: JIT, kernels, wasm memory growth
    const perCall = new Map<number, number[]>(batches.map((b) => [b, []]));
    for (let round = 0; round < ROUNDS; round++) for (const b of batches) perCall.get(b)!.push(timed(b, (secondsEach * 1000) / ROUNDS));
    return batches.map((batch) => {
      const sorted = perCall.get(batch)!.sort((a, b) => a - b);
      const ms = sorted[ROUNDS >> 1]!;
      return { batch, rowsPerSec: Math.round((batch * 1000) / ms), msPerCall: Number(ms.toFixed(4)) };
    });
  } finally {
    model.dispose();
  }
}
