/**
 * Named signatures of an imported graph model beyond the default one (TF Serving's SignatureDefs:
 * half_plus_two has `serving_default`, `regress_x_to_y`, `classify_x_to_y`, …). The import's
 * `signature` field may carry them as `signatures: {name: {method, inputs, outputs}}`; each tensor is
 * `{name, dtype, shape, tensor?}` where `name` is what clients use (for `classify`/`regress`, the
 * example feature) and `tensor` the graph node behind it (default: the name). Checked at import:
 * every tensor exists in the graph, and a dry prediction of each signature on zeros gives the
 * declared output shapes and dtypes. Refusals are 400s naming `signature.signatures.<name>…`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfconv from '@tensorflow/tfjs-converter';
import { ValidationProblemException } from '../platform/http/validation';
import type { ModelSignatureDef, ModelTensorSpec } from '../contracts';

export const DEFAULT_SIGNATURE = 'serving_default';
const METHODS = ['predict', 'classify', 'regress'] as const;
const DTYPES = ['float32', 'int32', 'bool'] as const;
const NAME = /^[A-Za-z0-9_.:/-]{1,200}$/;

function bad(field: string, reason: string): never {
  throw new ValidationProblemException([{ field, reason }]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function tensorList(arr: unknown, field: string): ModelTensorSpec[] {
  if (!Array.isArray(arr) || arr.length === 0) bad(field, 'must be a non-empty array of {name, dtype, shape, tensor?}');
  if (arr.length > 64) bad(field, 'at most 64 tensors');
  const names = new Set<string>();
  return arr.map((t: unknown, i): ModelTensorSpec => {
    const f = `${field}.${i}`;
    if (!isObject(t)) bad(f, 'must be an object {name, dtype, shape, tensor?}');
    const { name, dtype, shape, tensor } = t;
    if (typeof name !== 'string' || !NAME.test(name)) bad(`${f}.name`, "must be 1–200 letters, digits, '_', '.', ':', '/' or '-'");
    if (names.has(name)) bad(`${f}.name`, `'${name}' is declared twice`);
    names.add(name);
    if (tensor !== undefined && (typeof tensor !== 'string' || !NAME.test(tensor)))
      bad(`${f}.tensor`, "must be a graph tensor name: 1–200 letters, digits, '_', '.', ':', '/' or '-'");
    if (!(DTYPES as readonly unknown[]).includes(dtype)) bad(`${f}.dtype`, `must be one of ${DTYPES.join(', ')}`);
    if (!Array.isArray(shape) || shape.length === 0 || shape.length > 8) bad(`${f}.shape`, 'must be an array of 1–8 dimensions');
    shape.forEach((d, k) => {
      if (!Number.isInteger(d) || (d !== -1 && (d < 1 || d > 1_000_000)))
        bad(`${f}.shape.${k}`, 'must be -1 (any size) or a positive integer');
    });
    return { name, dtype: dtype as ModelTensorSpec['dtype'], shape: shape as number[], ...(tensor !== undefined ? { tensor } : {}) };
  });
}

/** The `signatures` member of the import's `signature` field; undefined when absent. */
export function parseSignatureDefs(raw: unknown): Record<string, ModelSignatureDef> | undefined {
  if (raw === undefined) return undefined;
  const field = 'signature.signatures';
  if (!isObject(raw)) bad(field, 'must be an object {name: {method, inputs, outputs}}');
  const entries = Object.entries(raw);
  if (entries.length > 32) bad(field, 'at most 32 signatures');
  const defs: Record<string, ModelSignatureDef> = {};
  for (const [name, def] of entries) {
    const f = `${field}.${name}`;
    // '/' too: TF Serving's api_rest.md calls half_plus_three's regress signature "tensorflow/serving/regress".
    if (!/^[A-Za-z0-9_./-]{1,100}$/.test(name)) bad(f, "a signature name is 1–100 letters, digits, '_', '.', '/' or '-'");
    if (name === DEFAULT_SIGNATURE)
      bad(f, `'${DEFAULT_SIGNATURE}' is the signature of "inputs" and "outputs"; name the others differently`);
    if (!isObject(def)) bad(f, 'must be an object {method, inputs, outputs}');
    const method = def.method ?? 'predict';
    if (!(METHODS as readonly unknown[]).includes(method)) bad(`${f}.method`, `must be one of ${METHODS.join(', ')}`);
    const inputs = tensorList(def.inputs, `${f}.inputs`);
    const outputs = tensorList(def.outputs, `${f}.outputs`);
    if (method === 'regress' && outputs.length !== 1) bad(`${f}.outputs`, 'a regress signature has one output (the regression value)');
    const per = outputs[0]!.shape.slice(1);
    if (method === 'regress' && (outputs[0]!.shape[0] !== -1 || per.some((d) => d !== 1)))
      bad(`${f}.outputs.0.shape`, 'a regress output holds one value per example: [-1] or [-1, 1]');
    if (method === 'classify' && outputs.some((o) => o.shape[0] !== -1))
      bad(`${f}.outputs`, 'classify outputs have the batch (example) dimension first: -1');
    defs[name] = { method: method as ModelSignatureDef['method'], inputs, outputs };
  }
  return defs;
}

/** The graph tensor behind a signature entry. */
export function graphTensorOf(spec: ModelTensorSpec): string {
  return spec.tensor ?? spec.name;
}

export function baseName(n: string): string {
  return n.replace(/:0$/, '');
}

function dimsMatch(actual: ReadonlyArray<number | null | undefined>, declared: number[]): boolean {
  if (actual.length !== declared.length) return false;
  return declared.every((d, i) => d === -1 || actual[i] == null || actual[i] === -1 || actual[i] === d);
}

const fmt = (s: ReadonlyArray<number | null | undefined> | undefined): string =>
  s ? `[${s.map((d) => (d == null || d === -1 ? -1 : d)).join(', ')}]` : 'unknown';

/** Checks each named signature against the loaded graph and dry-runs it on zeros. */
export async function checkSignatureDefs(model: tfconv.GraphModel, defs: Record<string, ModelSignatureDef>): Promise<void> {
  const graphInputs = model.inputs;
  const nodes = new Set(
    Object.keys((model as unknown as { executor: { graph: { nodes: Record<string, unknown> } } }).executor?.graph?.nodes ?? {}),
  );
  for (const [name, def] of Object.entries(defs)) {
    const f = `signature.signatures.${name}`;
    const zeros: tf.Tensor[] = [];
    let outputs: tf.Tensor[] = [];
    try {
      const feed: tf.NamedTensorMap = {};
      def.inputs.forEach((s, i) => {
        const t = graphInputs.find((g) => baseName(g.name) === baseName(graphTensorOf(s)));
        if (!t) {
          bad(
            `${f}.inputs.${i}.tensor`,
            `'${graphTensorOf(s)}' is not an input of the graph model (inputs: ${graphInputs.map((g) => baseName(g.name)).join(', ')})`,
          );
        }
        if (t.shape && !dimsMatch(t.shape, s.shape))
          bad(`${f}.inputs.${i}.shape`, `declares ${fmt(s.shape)}; the graph input '${baseName(t.name)}' has shape ${fmt(t.shape)}`);
        if (t.dtype && t.dtype !== s.dtype) bad(`${f}.inputs.${i}.dtype`, `declares ${s.dtype}; the graph input is ${t.dtype}`);
        const z = tf.zeros(
          s.shape.map((d) => (d === -1 ? 1 : d)),
          s.dtype as (typeof DTYPES)[number], // named signatures declare these three only
        );
        zeros.push(z);
        feed[t.name] = z;
      });
      def.outputs.forEach((s, i) => {
        if (nodes.size && !nodes.has(baseName(graphTensorOf(s))))
          bad(`${f}.outputs.${i}.tensor`, `'${graphTensorOf(s)}' is not a node of the graph model`);
      });
      try {
        const names = def.outputs.map(graphTensorOf);
        let y: tf.Tensor | tf.Tensor[];
        try {
          y = model.execute(feed, names);
        } catch (e) {
          if (!/executeAsync/.test((e as Error).message)) throw e;
          y = await model.executeAsync(feed, names);
        }
        outputs = Array.isArray(y) ? y : [y];
      } catch (e) {
        bad(f, `the dry prediction of this signature on zeros failed: ${(e as Error).message}`);
      }
      def.outputs.forEach((s, i) => {
        const y = outputs[i]!;
        if (!dimsMatch(y.shape, s.shape))
          bad(`${f}.outputs.${i}.shape`, `declares ${fmt(s.shape)}; the dry prediction's output has shape ${fmt(y.shape)} (batch 1)`);
        if (y.dtype !== s.dtype) bad(`${f}.outputs.${i}.dtype`, `declares ${s.dtype}; the dry prediction's output is ${y.dtype}`);
      });
    } finally {
      tf.dispose(zeros);
      tf.dispose(outputs);
    }
  }
}
