import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfconv from '@tensorflow/tfjs-converter';
import type { ArtifactStore } from '../artifacts/artifact-store';

/**
 * TF.js models as bytes, for the content-addressed artifact store.
 *
 * Without tfjs-node there is no `file://` handler, so models are saved and loaded through custom
 * `tf.io` handlers working on memory. The byte form is TF.js's own on-disk format with a single
 * weight shard:
 *
 *   modelJson  the parsed `model.json` (modelTopology, format, generatedBy, convertedBy,
 *              weightsManifest: [{paths: [WEIGHTS_SHARD_NAME], weights: [...specs]}], signature,
 *              userDefinedMetadata, modelInitializer, trainingConfig)
 *   weights    the concatenated weight bytes, in manifest order
 *
 * so writing `modelJson` to model.json and `weights` to `group1-shard1of1.bin` gives a model any
 * TF.js runtime loads, and an uploaded model.json + shards (`fromModelJsonAndShards`) becomes the
 * same two artifacts. Works for layers models and graph models alike (the handler is format-agnostic).
 */
export interface ModelBytes {
  modelJson: ModelJson;
  weights: Buffer;
}

export type ModelFormat = 'layers-model' | 'graph-model';

/** The fields of TF.js's model.json that Kiln reads or writes (tf.io.ModelJSON). */
export interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  trainingConfig?: object;
  signature?: object;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: object;
  initializerSignature?: object;
}

export const WEIGHTS_SHARD_NAME = 'group1-shard1of1.bin';

/** The artifacts are not a loadable TF.js model; the message names the problem (import returns it as a 400). */
export class ModelArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelArtifactError';
  }
}

function toBuffer(data: tf.io.WeightData | undefined): Buffer {
  if (data == null) return Buffer.alloc(0);
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((ab) => Buffer.from(ab)));
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  // A standalone copy: tfjs keeps the ArrayBuffer and Buffer views may share a larger pool.
  const ab = new ArrayBuffer(buf.byteLength);
  new Uint8Array(ab).set(buf);
  return ab;
}

/** A save handler that captures the model in memory; read the result after `model.save(handler)`. */
export function memorySaveHandler(): { handler: tf.io.IOHandler; result(): ModelBytes } {
  let saved: ModelBytes | null = null;
  const handler: tf.io.IOHandler = {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (artifacts.modelTopology == null || artifacts.modelTopology instanceof ArrayBuffer) {
        throw new ModelArtifactError('only JSON model topologies can be saved');
      }
      const weights = toBuffer(artifacts.weightData);
      const modelJson: ModelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_SHARD_NAME], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) modelJson.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata as Record<string, unknown>;
      if (artifacts.modelInitializer != null) modelJson.modelInitializer = artifacts.modelInitializer;
      if (artifacts.initializerSignature != null) modelJson.initializerSignature = artifacts.initializerSignature;
      // Deep copy: the caller may mutate the returned JSON; the model's own objects must stay intact.
      saved = { modelJson: JSON.parse(JSON.stringify(modelJson)) as ModelJson, weights };
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology)),
          weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? [])),
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
  return {
    handler,
    result() {
      if (!saved) throw new Error('memorySaveHandler: the model has not been saved yet');
      return saved;
    },
  };
}

/** Anything with TF.js's `save(handler)`: tf.LayersModel, tfconv.GraphModel. */
export interface SavableModel {
  save(handlerOrURL: tf.io.IOHandler | string, config?: tf.io.SaveConfig): Promise<tf.io.SaveResult>;
}

/** Serialises a layers or graph model (topology + weights; no optimizer state). */
export async function saveModelToBytes(model: SavableModel): Promise<ModelBytes> {
  const { handler, result } = memorySaveHandler();
  await model.save(handler, { includeOptimizer: false });
  return result();
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** Byte length the manifest promises, or null when it cannot be known up front (string tensors). */
export function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const s of specs) {
    if (s.dtype === 'string') return null;
    const n = s.shape.reduce((a, b) => a * b, 1);
    const dtype = s.quantization?.dtype ?? s.dtype;
    const per = BYTES_PER_ELEMENT[dtype];
    if (per == null) throw new ModelArtifactError(`weight '${s.name}' has unsupported dtype '${dtype}'`);
    total += n * per;
  }
  return total;
}

/** Checks the shape of a model.json and that the weight bytes match its manifest. */
export function validateModelBytes(bytes: ModelBytes): ModelFormat {
  const j = bytes.modelJson as Partial<ModelJson> | null;
  if (j == null || typeof j !== 'object') throw new ModelArtifactError('model.json is not a JSON object');
  if (j.modelTopology == null || typeof j.modelTopology !== 'object') {
    throw new ModelArtifactError('model.json has no modelTopology object');
  }
  if (!Array.isArray(j.weightsManifest)) throw new ModelArtifactError('model.json has no weightsManifest array');
  const specs = j.weightsManifest.flatMap((g) => (Array.isArray(g?.weights) ? g.weights : []));
  const expected = expectedWeightBytes(specs);
  if (expected != null && expected !== bytes.weights.byteLength) {
    throw new ModelArtifactError(`weights hold ${bytes.weights.byteLength} bytes but model.json's weightsManifest describes ${expected}`);
  }
  return modelFormat(j as ModelJson);
}

/** 'graph-model' when model.json says so (or the topology is a GraphDef: has `node`), else 'layers-model'. */
export function modelFormat(modelJson: ModelJson): ModelFormat {
  if (modelJson.format === 'graph-model') return 'graph-model';
  if (modelJson.format === 'layers-model') return 'layers-model';
  const topo = modelJson.modelTopology as Record<string, unknown>;
  return Array.isArray(topo?.node) ? 'graph-model' : 'layers-model';
}

/** A load handler over bytes: pass it to tf.loadLayersModel / tfconv.loadGraphModel. */
export function bytesLoadHandler(bytes: ModelBytes): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      validateModelBytes(bytes);
      const j = bytes.modelJson;
      const weightSpecs = j.weightsManifest.flatMap((g) => g.weights);
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: JSON.parse(JSON.stringify(j.modelTopology)) as object,
        weightSpecs,
        weightData: toArrayBuffer(bytes.weights),
        format: j.format,
        generatedBy: j.generatedBy,
        convertedBy: j.convertedBy,
      };
      if (j.trainingConfig != null) artifacts.trainingConfig = j.trainingConfig as tf.io.TrainingConfig;
      if (j.signature != null) artifacts.signature = j.signature;
      if (j.userDefinedMetadata != null) artifacts.userDefinedMetadata = j.userDefinedMetadata as { [key: string]: {} };
      if (j.modelInitializer != null) artifacts.modelInitializer = j.modelInitializer;
      if (j.initializerSignature != null) artifacts.initializerSignature = j.initializerSignature;
      return artifacts;
    },
  };
}

function wrapLoadError(e: unknown, format: ModelFormat): never {
  if (e instanceof ModelArtifactError) throw e;
  const msg = e instanceof Error ? e.message : String(e);
  throw new ModelArtifactError(`cannot load the ${format}: ${msg}`);
}

/** Loads a layers model from bytes (no compile: inference only unless the caller compiles it). */
export async function loadLayersModelFromBytes(bytes: ModelBytes): Promise<tfl.LayersModel> {
  try {
    return await tfl.loadLayersModel(bytesLoadHandler(bytes));
  } catch (e) {
    wrapLoadError(e, 'layers-model');
  }
}

/** Loads a graph model (TF SavedModel / frozen graph converted by tensorflowjs_converter) from bytes. */
export async function loadGraphModelFromBytes(bytes: ModelBytes): Promise<tfconv.GraphModel> {
  try {
    return await tfconv.loadGraphModel(bytesLoadHandler(bytes));
  } catch (e) {
    wrapLoadError(e, 'graph-model');
  }
}

/** A stored version's model.json + weights (two artifacts) as ModelBytes. */
export async function readModelBytes(store: ArtifactStore, modelJsonSha256: string, weightsSha256: string): Promise<ModelBytes> {
  const [json, weights] = await Promise.all([store.getBuffer(modelJsonSha256), store.getBuffer(weightsSha256)]);
  return { modelJson: JSON.parse(json.toString('utf8')) as ModelJson, weights };
}

/** Loads either format, as `modelFormat` tells. */
export async function loadModelFromBytes(
  bytes: ModelBytes,
): Promise<{ format: 'layers-model'; model: tfl.LayersModel } | { format: 'graph-model'; model: tfconv.GraphModel }> {
  const format = validateModelBytes(bytes);
  return format === 'graph-model'
    ? { format, model: await loadGraphModelFromBytes(bytes) }
    : { format, model: await loadLayersModelFromBytes(bytes) };
}

/**
 * An uploaded model (model.json + shard files, as tensorflowjs_converter or `model.save` writes them)
 * as ModelBytes: shards concatenated in manifest order, manifest rewritten to one shard.
 * Throws ModelArtifactError naming a missing shard or a size mismatch.
 */
export function fromModelJsonAndShards(modelJson: unknown, shards: ReadonlyMap<string, Buffer>): ModelBytes {
  const j = modelJson as Partial<ModelJson> | null;
  if (j == null || typeof j !== 'object' || Array.isArray(j)) throw new ModelArtifactError('model.json is not a JSON object');
  if (!Array.isArray(j.weightsManifest)) throw new ModelArtifactError('model.json has no weightsManifest array');
  const parts: Buffer[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const [gi, group] of j.weightsManifest.entries()) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new ModelArtifactError(`weightsManifest[${gi}] needs 'paths' and 'weights' arrays`);
    }
    for (const [pi, p] of (group.paths as unknown[]).entries()) {
      if (typeof p !== 'string' || p.length === 0 || p.includes('\u0000')) {
        throw new ModelArtifactError(`model.json's weightsManifest[${gi}].paths[${pi}] must be a file name (a non-empty string)`);
      }
      const name = p.split('/').pop() ?? p;
      const shard = shards.get(p) ?? shards.get(name);
      if (!shard) throw new ModelArtifactError(`weight shard '${p}' named in model.json was not provided`);
      parts.push(shard);
    }
    specs.push(...group.weights);
  }
  const bytes: ModelBytes = {
    modelJson: { ...(j as ModelJson), weightsManifest: [{ paths: [WEIGHTS_SHARD_NAME], weights: specs }] },
    weights: Buffer.concat(parts),
  };
  validateModelBytes(bytes);
  return bytes;
}
