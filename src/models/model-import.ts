/**
 * Import of a TF.js model trained elsewhere: `model.json` + weight shards + a declared tensor
 * signature. The model is loaded (layers or graph), its inputs are checked against the signature,
 * and a dry prediction runs on zeros of the declared input shapes (-1 → 1); the outputs must match the
 * declared outputs. Every refusal is a ValidationProblemException (400) naming the field and the
 * problem; nothing is stored before the checks pass.
 *
 * Matching: a layers model's inputs and outputs are matched by position (Keras names such as
 * `dense_Dense1_input` are implementation details; the declared names are what clients see); a
 * graph model's by name (its placeholders and fetched nodes have stable names, `x` or `x:0`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as tfconv from '@tensorflow/tfjs-converter';
import { ValidationProblemException } from '../platform/http/validation';
import {
  fromModelJsonAndShards,
  loadModelFromBytes,
  ModelArtifactError,
  type ModelBytes,
  type ModelFormat,
} from '../platform/tfjs/artifact-io';
import { TfRuntime, type TfBackendChoice } from '../platform/tfjs/tf-runtime';
import type { ModelSignatureDef } from '../contracts';
import { baseName, checkSignatureDefs, graphTensorOf, parseSignatureDefs } from './signature-defs';

export const TENSOR_DTYPES = ['float32', 'int32', 'bool', 'string'] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  /** -1 for the batch dimension (or any dimension of unknown size). */
  shape: number[];
}

export interface TensorSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Graph models: further named signatures (signature-defs.ts). */
  signatures?: Record<string, ModelSignatureDef>;
}

function bad(field: string, reason: string): never {
  throw new ValidationProblemException([{ field, reason }]);
}

/** Default of KILN_IMPORT_MAX_ELEMENTS: elements of all dry-run inputs together (16 MB of float32). */
export const DEFAULT_IMPORT_MAX_ELEMENTS = 4_000_000;

/**
 * Parses and checks the `signature` form field. The dry prediction feeds one row of zeros per
 * input, so the inputs' elements together (-1 counted as 1) must stay within `maxElements`; that is
 * checked here, before the model is even loaded.
 */
export function parseSignature(raw: string | undefined, maxElements = DEFAULT_IMPORT_MAX_ELEMENTS): TensorSignature {
  if (raw === undefined) bad('signature', 'is required: a JSON field {inputs: [{name, dtype, shape}], outputs: [...]}');
  let j: unknown;
  try {
    j = JSON.parse(raw);
  } catch (e) {
    bad('signature', `is not valid JSON (${(e as Error).message})`);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) bad('signature', 'must be a JSON object {inputs, outputs}');
  const o = j as Record<string, unknown>;
  const list = (key: 'inputs' | 'outputs'): TensorSpec[] => {
    const arr = o[key];
    if (!Array.isArray(arr) || arr.length === 0) bad(`signature.${key}`, 'must be a non-empty array of {name, dtype, shape}');
    if (arr.length > 64) bad(`signature.${key}`, 'at most 64 tensors');
    const names = new Set<string>();
    return arr.map((t: unknown, i): TensorSpec => {
      const f = `signature.${key}.${i}`;
      if (t === null || typeof t !== 'object' || Array.isArray(t)) bad(f, 'must be an object {name, dtype, shape}');
      const { name, dtype, shape } = t as Record<string, unknown>;
      if (typeof name !== 'string' || !/^[A-Za-z0-9_.:/-]{1,200}$/.test(name))
        bad(`${f}.name`, "must be 1–200 letters, digits, '_', '.', ':', '/' or '-'");
      if (names.has(name)) bad(`${f}.name`, `'${name}' is declared twice`);
      names.add(name);
      if (!(TENSOR_DTYPES as readonly unknown[]).includes(dtype)) bad(`${f}.dtype`, `must be one of ${TENSOR_DTYPES.join(', ')}`);
      if (!Array.isArray(shape) || shape.length === 0 || shape.length > 8) bad(`${f}.shape`, 'must be an array of 1–8 dimensions');
      shape.forEach((d, k) => {
        if (!Number.isInteger(d) || (d !== -1 && (d < 1 || d > 1_000_000)))
          bad(`${f}.shape.${k}`, 'must be -1 (any size) or a positive integer');
      });
      return { name, dtype: dtype as TensorDtype, shape: shape as number[] };
    });
  };
  const signatures = parseSignatureDefs(o.signatures);
  const sig: TensorSignature = { inputs: list('inputs'), outputs: list('outputs'), ...(signatures ? { signatures } : {}) };
  for (const key of ['inputs', 'outputs'] as const) {
    const total = sig[key].reduce((sum, t) => sum + dryRunShape(t.shape).reduce((a, d) => a * d, 1), 0);
    if (total > maxElements) {
      bad(`signature.${key}`, `declare ${total} elements per row in total; at most ${maxElements} (KILN_IMPORT_MAX_ELEMENTS)`);
    }
  }
  return sig;
}

/** The shape of the dry prediction's row: -1 (any size) becomes 1. */
function dryRunShape(shape: number[]): number[] {
  return shape.map((d) => (d === -1 ? 1 : d));
}

/** model.json text + shards (by their uploaded file names) → ModelBytes; 400 naming the problem. */
export function bytesFromUpload(modelJsonText: Buffer | undefined, shards: ReadonlyMap<string, Buffer>): ModelBytes {
  if (!modelJsonText) bad('model', 'is required: send model.json as the multipart file part "model"');
  let j: unknown;
  try {
    j = JSON.parse(modelJsonText.toString('utf8'));
  } catch (e) {
    bad('model', `model.json is not valid JSON (${(e as Error).message})`);
  }
  try {
    return fromModelJsonAndShards(j, shards);
  } catch (e) {
    if (e instanceof ModelArtifactError) bad(/shard/.test(e.message) ? 'weights' : 'model', e.message);
    throw e;
  }
}

function dimsMatch(actual: ReadonlyArray<number | null | undefined>, declared: number[]): boolean {
  if (actual.length !== declared.length) return false;
  return declared.every((d, i) => d === -1 || actual[i] == null || actual[i] === -1 || actual[i] === d);
}

const fmt = (s: ReadonlyArray<number | null | undefined> | undefined): string =>
  s ? `[${s.map((d) => (d == null || d === -1 ? -1 : d)).join(', ')}]` : 'unknown';

export interface DryRunReport {
  format: ModelFormat;
  backend: string;
  outputs: Array<{ name: string; dtype: string; shape: number[] }>;
}

/**
 * Loads the model and runs the dry prediction. Returns what ran; throws a 400 naming the first
 * mismatch (`model` when it does not load, `signature.inputs.N…` / `signature.outputs.N…` otherwise).
 * `tfBackend` is the configured KILN_TF_BACKEND (a no-op when the runtime is already initialised).
 */
export async function dryRun(bytes: ModelBytes, sig: TensorSignature, tfBackend: TfBackendChoice): Promise<DryRunReport> {
  const backend = await TfRuntime.init(tfBackend);
  let loaded: Awaited<ReturnType<typeof loadModelFromBytes>>;
  try {
    loaded = await loadModelFromBytes(bytes);
  } catch (e) {
    if (e instanceof ModelArtifactError) bad('model', e.message);
    bad('model', `cannot load the model: ${(e as Error).message}`);
  }
  // Zeros are allocated only once the declared inputs match the model's (count, shapes, dtypes).
  const zeros: tf.Tensor[] = [];
  const zerosFor = (s: TensorSpec): tf.Tensor => {
    // tf.zeros (and the wasm backend's fill) have no string dtype: empty strings stand in for zeros there.
    const shape = dryRunShape(s.shape);
    const t =
      s.dtype === 'string'
        ? tf.tensor(new Array<string>(shape.reduce((a, b) => a * b, 1)).fill(''), shape, 'string')
        : tf.zeros(shape, s.dtype);
    zeros.push(t);
    return t;
  };
  const outputs: tf.Tensor[] = [];
  try {
    if (loaded.format === 'layers-model') {
      const model = loaded.model as tfl.LayersModel;
      if (sig.signatures) bad('signature.signatures', 'only graph models have further signatures; a layers model has one');
      if (model.inputs.length !== sig.inputs.length) {
        bad(
          'signature.inputs',
          `declares ${sig.inputs.length} input(s); ` +
            `the layers model takes ${model.inputs.length} (${model.inputs.map((t) => fmt(t.shape)).join(', ')})`,
        );
      }
      model.inputs.forEach((t, i) => {
        const s = sig.inputs[i];
        if (!dimsMatch(t.shape, s.shape))
          bad(`signature.inputs.${i}.shape`, `declares ${fmt(s.shape)}; the model's input ${i} has shape ${fmt(t.shape)}`);
        if (t.dtype !== s.dtype) bad(`signature.inputs.${i}.dtype`, `declares ${s.dtype}; the model's input ${i} is ${t.dtype}`);
      });
      if (model.outputs.length !== sig.outputs.length) {
        bad(
          'signature.outputs',
          `declares ${sig.outputs.length} output(s); ` +
            `the layers model has ${model.outputs.length} (${model.outputs.map((t) => fmt(t.shape)).join(', ')})`,
        );
      }
      try {
        const x = sig.inputs.map(zerosFor);
        const y = model.predict(x.length === 1 ? x[0]! : x);
        outputs.push(...(Array.isArray(y) ? y : [y]));
      } catch (e) {
        bad('model', `the dry prediction on zeros of the declared input shapes failed: ${(e as Error).message}`);
      }
    } else {
      const model = loaded.model as tfconv.GraphModel;
      const graphInputs = model.inputs;
      // With named signatures the default one may leave graph inputs to the others (half_plus_two's x2).
      const namedInputs = Object.values(sig.signatures ?? {}).flatMap((d) => d.inputs.map(graphTensorOf));
      const uncovered = graphInputs.filter(
        (g) => ![...sig.inputs.map((s) => s.name), ...namedInputs].some((n) => baseName(n) === baseName(g.name)),
      );
      if (sig.signatures ? uncovered.length > 0 || sig.inputs.length > graphInputs.length : graphInputs.length !== sig.inputs.length) {
        bad(
          'signature.inputs',
          `declares ${sig.inputs.length} input(s); ` +
            `the graph model takes ${graphInputs.length} (${graphInputs.map((t) => baseName(t.name)).join(', ')})`,
        );
      }
      const feed: tf.NamedTensorMap = {};
      const matched = sig.inputs.map((s, i) => {
        const t = graphInputs.find((g) => baseName(g.name) === baseName(s.name));
        if (!t)
          bad(
            `signature.inputs.${i}.name`,
            `'${s.name}' is not an input of the graph model (inputs: ${graphInputs.map((g) => baseName(g.name)).join(', ')})`,
          );
        if (t.shape && !dimsMatch(t.shape, s.shape))
          bad(`signature.inputs.${i}.shape`, `declares ${fmt(s.shape)}; the graph input '${baseName(t.name)}' has shape ${fmt(t.shape)}`);
        if (t.dtype && t.dtype !== s.dtype)
          bad(`signature.inputs.${i}.dtype`, `declares ${s.dtype}; the graph input '${baseName(t.name)}' is ${t.dtype}`);
        return t;
      });
      sig.inputs.forEach((s, i) => (feed[matched[i]!.name] = zerosFor(s)));
      const nodes = new Set(
        Object.keys((model as unknown as { executor: { graph: { nodes: Record<string, unknown> } } }).executor?.graph?.nodes ?? {}),
      );
      sig.outputs.forEach((s, i) => {
        if (nodes.size && !nodes.has(baseName(s.name))) {
          bad(
            `signature.outputs.${i}.name`,
            `'${s.name}' is not a node of the graph model (outputs: ${model.outputNodes.map(baseName).join(', ')})`,
          );
        }
      });
      try {
        const names = sig.outputs.map((s) => s.name);
        let y: tf.Tensor | tf.Tensor[];
        try {
          y = model.execute(feed, names);
        } catch (e) {
          // control flow / dynamic shapes need the async executor
          if (!/executeAsync/.test((e as Error).message)) throw e;
          y = await model.executeAsync(feed, names);
        }
        outputs.push(...(Array.isArray(y) ? y : [y]));
      } catch (e) {
        bad('model', `the dry prediction on zeros of the declared input shapes failed: ${(e as Error).message}`);
      }
      if (sig.signatures) await checkSignatureDefs(model, sig.signatures);
    }
    sig.outputs.forEach((s, i) => {
      const y = outputs[i];
      if (!y) bad(`signature.outputs.${i}`, `the model produced ${outputs.length} output(s)`);
      if (!dimsMatch(y.shape, s.shape))
        bad(
          `signature.outputs.${i}.shape`,
          `declares ${fmt(s.shape)}; the dry prediction's output ${i} has shape ${fmt(y.shape)} (batch 1)`,
        );
      if (y.dtype !== s.dtype) bad(`signature.outputs.${i}.dtype`, `declares ${s.dtype}; the dry prediction's output ${i} is ${y.dtype}`);
    });
    return {
      format: loaded.format,
      backend,
      outputs: outputs.map((y, i) => ({ name: sig.outputs[i]?.name ?? String(i), dtype: y.dtype, shape: y.shape })),
    };
  } finally {
    tf.dispose(zeros);
    tf.dispose(outputs);
    loaded.model.dispose();
  }
}
