import * as tf from '@tensorflow/tfjs-core';
import type { EpochProgress } from './types';

/**
 * A per-epoch training checkpoint: everything `train({resumeFrom})` needs to continue after epoch
 * `epochsCompleted` as if never interrupted (same backend): model weights, the optimizer's moment
 * estimates, the best-so-far weights for early stopping, and the loop state. Shuffles and dropout
 * masks derive from (seed, epoch, batch), so they replay identically.
 *
 * `encodeCheckpoint` / `decodeCheckpoint` turn it into one Buffer for the artifact store:
 *   "KILNCKPT" | u32 LE header length | header JSON (UTF-8) | weights | bestWeights | optimizer bytes
 */
export interface EncodedTensors {
  specs: tf.io.WeightsManifestEntry[];
  data: Buffer;
}

export interface TrainingCheckpoint {
  formatVersion: 1;
  /** Hash of the training spec (data shape, preprocessing, template, hyperparameters): resume refuses a mismatch. */
  fingerprint: string;
  epochsCompleted: number;
  history: EpochProgress[];
  best: { epoch: number; valLoss: number } | null;
  /** Epochs since the last improvement (early stopping). */
  wait: number;
  weights: EncodedTensors;
  bestWeights: EncodedTensors | null;
  optimizer: EncodedTensors | null;
}

export class CheckpointMismatchError extends Error {
  constructor(reason: string) {
    super(`checkpoint cannot be resumed: ${reason}`);
    this.name = 'CheckpointMismatchError';
  }
}

const MAGIC = Buffer.from('KILNCKPT', 'ascii');

export async function encodeTensors(named: Parameters<typeof tf.io.encodeWeights>[0]): Promise<EncodedTensors> {
  const { data, specs } = await tf.io.encodeWeights(named);
  return { specs, data: Buffer.from(data) };
}

export function decodeTensors(enc: EncodedTensors): tf.NamedTensorMap {
  const ab = new ArrayBuffer(enc.data.byteLength);
  new Uint8Array(ab).set(enc.data);
  return tf.io.decodeWeights(ab, enc.specs);
}

export function encodeCheckpoint(c: TrainingCheckpoint): Buffer {
  const { weights, bestWeights, optimizer, ...rest } = c;
  const header = Buffer.from(
    JSON.stringify({
      ...rest,
      weights: { specs: weights.specs, bytes: weights.data.byteLength },
      bestWeights: bestWeights && { specs: bestWeights.specs, bytes: bestWeights.data.byteLength },
      optimizer: optimizer && { specs: optimizer.specs, bytes: optimizer.data.byteLength },
    }),
    'utf8',
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.byteLength, 0);
  return Buffer.concat([MAGIC, len, header, weights.data, bestWeights?.data ?? Buffer.alloc(0), optimizer?.data ?? Buffer.alloc(0)]);
}

export function decodeCheckpoint(buf: Buffer): TrainingCheckpoint {
  if (buf.byteLength < 12 || !buf.subarray(0, 8).equals(MAGIC)) throw new CheckpointMismatchError('not a Kiln training checkpoint');
  const hlen = buf.readUInt32LE(8);
  const header = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as Omit<
    TrainingCheckpoint,
    'weights' | 'bestWeights' | 'optimizer'
  > & {
    weights: { specs: tf.io.WeightsManifestEntry[]; bytes: number };
    bestWeights: { specs: tf.io.WeightsManifestEntry[]; bytes: number } | null;
    optimizer: { specs: tf.io.WeightsManifestEntry[]; bytes: number } | null;
  };
  if (header.formatVersion !== 1) throw new CheckpointMismatchError(`unsupported checkpoint format ${String(header.formatVersion)}`);
  let o = 12 + hlen;
  const take = (part: { specs: tf.io.WeightsManifestEntry[]; bytes: number } | null): EncodedTensors | null => {
    if (!part) return null;
    const data = Buffer.from(buf.subarray(o, o + part.bytes));
    if (data.byteLength !== part.bytes) throw new CheckpointMismatchError('checkpoint is truncated');
    o += part.bytes;
    return { specs: part.specs, data };
  };
  const weights = take(header.weights) as EncodedTensors;
  const bestWeights = take(header.bestWeights);
  const optimizer = take(header.optimizer);
  return { ...header, weights, bestWeights, optimizer };
}

/**
 * Adam keeps beta1^t and beta2^t as running products; its setWeights() recomputes them with pow(),
 * which differs in the last float bits. Saving and restoring the products too makes a resumed run
 * bit-identical to an uninterrupted one.
 */
type AdamInternals = { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
const EXTRA = 'kiln:';

export async function optimizerState(opt: tf.Optimizer): Promise<EncodedTensors> {
  const named = await opt.getWeights();
  const adam = opt as unknown as AdamInternals;
  const extra = (['accBeta1', 'accBeta2'] as const).flatMap((k) =>
    adam[k] ? [{ name: `${EXTRA}${k}`, tensor: adam[k] as tf.Tensor }] : [],
  );
  try {
    return await encodeTensors([...named.map((w, i) => ({ name: `${i}:${w.name}`, tensor: w.tensor })), ...extra]);
  } finally {
    // the first entry ('iter') is a fresh scalar; the rest are the optimizer's own variables
    named[0]?.tensor.dispose();
  }
}

export async function restoreOptimizer(opt: tf.Optimizer, enc: EncodedTensors): Promise<void> {
  const map = decodeTensors(enc);
  const named = enc.specs
    .filter((s) => !s.name.startsWith(EXTRA))
    .map((s) => ({ name: s.name.slice(s.name.indexOf(':') + 1), tensor: map[s.name] }));
  await opt.setWeights(named);
  const adam = opt as unknown as AdamInternals;
  for (const k of ['accBeta1', 'accBeta2'] as const) {
    const saved = map[`${EXTRA}${k}`];
    if (saved && adam[k]) adam[k].assign(saved);
  }
  tf.dispose(Object.values(map));
}
