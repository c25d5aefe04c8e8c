/**
 * TensorFlow Serving REST v1 codec: URL paths (`/v1/models/{name}[/versions/{N}|/labels/{label}]`
 * + `/metadata` or `:predict|:classify|:regress`, and KServe V1's `:explain`), predict bodies in row
 * form (`instances`) or columnar form (`inputs`) → HostTensors, results → `{"predictions"}` /
 * `{"outputs"}`, classify and regress examples → named-feature records, and the status and metadata
 * answers in TF Serving's own JSON shapes (the status of `/v1/models/{name}` also in KServe V1's).
 * Pure functions; bad input is a 400 naming the field.
 */
import { BadRequestException, NotFoundException } from '@nestjs/common';
import { parseVersionNumber } from '../../models';
import type * as ml from '../../ml';
import {
  elementCount,
  type HostTensor,
  type InferenceResult,
  type ModelSelector,
  type ServedModel,
  type TensorDtype,
  type TensorSpec,
} from '../runtime/served-model';
import { allocate, describeValue, fillExact, fmt, isB64, isPlainObject, leafCount, nest, nestedShape } from './tensor-values';
import type { RouteMethods } from './route-methods';
import { Float32Value } from './serving-json';

export const SIGNATURE_NAME = 'serving_default';
export type TfServingAction = 'status' | 'metadata' | 'predict' | 'classify' | 'regress' | 'explain';

export interface TfServingTarget {
  name: string;
  selector: ModelSelector;
  action: TfServingAction;
}

const SELECTOR = String.raw`(?:/versions/[^/:]+|/labels/[^/:]+)?`;
export const TF_SERVING_ROUTES: RouteMethods[] = [
  { pattern: new RegExp(String.raw`^/v1/models/[^/:]+${SELECTOR}(?:/metadata)?$`), methods: ['GET'] },
  { pattern: new RegExp(String.raw`^/v1/models/[^/:]+${SELECTOR}:(?:predict|classify|regress|explain)$`), methods: ['POST'] },
];

// `:explain` is KServe V1's verb (TF Serving has none): one more verb on the same paths.
const PATH = /^([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?(?:(\/metadata)|:(predict|classify|regress|explain))?$/;

/**
 * Parses what follows `/v1/models/` (percent-decoded); null when it is no TF Serving route. 404 for
 * a version that is not a positive integer.
 */
export function parseTfServingPath(rest: string): TfServingTarget | null {
  const m = PATH.exec(rest);
  if (!m) return null;
  const [, name, version, label, metadata, verb] = m as unknown as [string, string, string?, string?, string?, string?];
  let selector: ModelSelector = {};
  if (version !== undefined) {
    const n = parseVersionNumber(version);
    if (n === null) throw new NotFoundException(`model '${name}' has no version '${version.slice(0, 40)}'`);
    selector = { version: n };
  } else if (label !== undefined) {
    selector = { alias: label };
  }
  const action: TfServingAction = metadata ? 'metadata' : ((verb as TfServingAction | undefined) ?? 'status');
  return { name, selector, action };
}

function bad(message: string): BadRequestException {
  return new BadRequestException(message);
}

/**
 * The body's `signature_name` (undefined when absent). Which names exist is the model's business
 * (runtime/signatures.ts: `serving_default` plus an imported graph model's named signatures).
 */
export function signatureNameOf(body: unknown): string | undefined {
  if (!isPlainObject(body)) return undefined;
  const s = body.signature_name;
  if (s === undefined) return undefined;
  // TF Serving's own message (json_tensor.cc).
  if (typeof s !== 'string') throw bad("signature_name: 'signature_name' key must be a string value.");
  return s;
}

function checkSignatureName(body: Record<string, unknown>): void {
  signatureNameOf(body);
}

/** One tensor from a nested JSON value whose shape is read from the value itself. */
function tensorFrom(value: unknown, spec: TensorSpec, where: string): HostTensor {
  const shape = nestedShape(value);
  const data = allocate(spec.dtype, boundedCount(elementCount(shape), [value]));
  fillExact(value, shape, spec.dtype, data, 0, where);
  return { name: spec.name, dtype: spec.dtype, shape, data };
}

/**
 * The shape read along first elements promises `count` scalars; a ragged value (a long first list,
 * short others) could promise far more than the body holds. Past 64 Ki elements the real number of
 * scalars caps the allocation; a value whose counts differ is refused by fillExact at the ragged spot.
 */
function boundedCount(count: number, values: readonly unknown[]): number {
  if (count <= 65_536) return count;
  return Math.min(
    count,
    values.reduce<number>((n, v) => n + leafCount(v), 0),
  );
}

function unknownKeys(obj: Record<string, unknown>, specs: readonly TensorSpec[], where: (key: string) => string, model: string): void {
  for (const key of Object.keys(obj)) {
    if (!specs.some((s) => s.name === key)) {
      throw bad(`${where(key)}: '${key}' is not an input of model '${model}' (inputs: ${specs.map((s) => s.name).join(', ')})`);
    }
  }
}

export interface ParsedPredictRequest {
  form: 'row' | 'columnar';
  inputs: HostTensor[];
}

/** Row form: `instances`, one entry per example; with several inputs (or by choice) each is an object keyed by input name. */
function parseInstances(instances: unknown, model: Pick<ServedModel, 'name' | 'inputs'>): HostTensor[] {
  if (!Array.isArray(instances) || instances.length === 0) throw bad('instances: must be a non-empty list (one entry per example)');
  const specs = model.inputs;
  const named = (v: unknown): v is Record<string, unknown> => isPlainObject(v) && !isB64(v);
  if (specs.length > 1) {
    instances.forEach((inst, i) => {
      if (!named(inst))
        throw bad(
          `instances[${i}]: model '${model.name}' has ${specs.length} inputs (${specs.map((s) => s.name).join(', ')}); ` +
            `each instance must be an object keyed by input name`,
        );
    });
  }
  return specs.map((spec) => {
    const rows = instances.map((inst, i) => {
      if (!named(inst)) return { value: inst, where: `instances[${i}]` };
      unknownKeys(inst, specs, (k) => `instances[${i}].${k}`, model.name);
      if (!(spec.name in inst)) throw bad(`instances[${i}]: input '${spec.name}' is missing`);
      return { value: inst[spec.name], where: `instances[${i}].${spec.name}` };
    });
    const rowShape = nestedShape(rows[0]!.value);
    const per = elementCount(rowShape);
    const data = allocate(
      spec.dtype,
      boundedCount(
        per * rows.length,
        rows.map((r) => r.value),
      ),
    );
    rows.forEach(({ value, where }, i) => {
      const got = nestedShape(value);
      if (got.length !== rowShape.length || got.some((d, j) => d !== rowShape[j])) {
        throw bad(`${where}: shape ${fmt(got)} differs from the first instance's ${fmt(rowShape)} (input '${spec.name}')`);
      }
      fillExact(value, rowShape, spec.dtype, data, i * per, where);
    });
    return { name: spec.name, dtype: spec.dtype, shape: [rows.length, ...rowShape], data };
  });
}

/** Columnar form: `inputs`, a tensor (single input) or an object keyed by input name, each with its batch dimension. */
function parseColumns(inputs: unknown, model: Pick<ServedModel, 'name' | 'inputs'>): HostTensor[] {
  const specs = model.inputs;
  if (isPlainObject(inputs) && !isB64(inputs)) {
    unknownKeys(inputs, specs, (k) => `inputs.${k}`, model.name);
    return specs.map((spec) => {
      if (!(spec.name in inputs)) throw bad(`inputs: input '${spec.name}' is missing`);
      return tensorFrom(inputs[spec.name], spec, `inputs.${spec.name}`);
    });
  }
  if (specs.length !== 1) {
    throw bad(
      `inputs: model '${model.name}' has ${specs.length} inputs (${specs.map((s) => s.name).join(', ')}); ` +
        `send an object keyed by input name`,
    );
  }
  return [tensorFrom(inputs, specs[0]!, 'inputs')];
}

/** A `:predict` body → input tensors, remembering the form for the response. */
export function parsePredictRequest(body: unknown, model: Pick<ServedModel, 'name' | 'inputs'>): ParsedPredictRequest {
  if (!isPlainObject(body)) throw bad('body: must be a JSON object {signature_name?, instances | inputs}');
  checkSignatureName(body);
  const hasInstances = body.instances !== undefined;
  const hasInputs = body.inputs !== undefined;
  if (hasInstances === hasInputs) throw bad('body: send exactly one of "instances" (row form) or "inputs" (columnar form)');
  return hasInstances
    ? { form: 'row', inputs: parseInstances(body.instances, model) }
    : { form: 'columnar', inputs: parseColumns(body.inputs, model) };
}

/**
 * KServe V1's explain answer, `{"predictions": [...], "explanations": [...]}`: the predictions in row
 * form (one per instance, whichever form the request used: the explanations are per instance too) and
 * one explanation per instance.
 */
export function explainResponse<E>(result: InferenceResult, explanations: readonly E[]): { predictions: unknown[]; explanations: E[] } {
  const { predictions } = predictResponse(result, 'row') as { predictions: unknown[] };
  return { predictions, explanations: [...explanations] };
}

/** `{"predictions": [...]}` (row form) or `{"outputs": ...}` (columnar); a single output drops its name. */
export function predictResponse(
  result: InferenceResult,
  form: ParsedPredictRequest['form'],
): { predictions: unknown[] } | { outputs: unknown } {
  const outputs = result.outputs;
  if (form === 'columnar') {
    if (outputs.length === 1)
      return { outputs: nest(outputs[0]!.data, outputs[0]!.shape, outputs[0]!.dtype, 0, base64Output(outputs[0]!)) };
    return { outputs: Object.fromEntries(outputs.map((t) => [t.name, nest(t.data, t.shape, t.dtype, 0, base64Output(t))])) };
  }
  const perOutput = outputs.map((t) => ({ name: t.name, rows: splitRows(t) }));
  const n = perOutput[0]?.rows.length ?? 0;
  if (perOutput.some((o) => o.rows.length !== n)) throw new Error('outputs disagree on the batch size');
  if (perOutput.length === 1) return { predictions: perOutput[0]!.rows };
  return { predictions: Array.from({ length: n }, (_, i) => Object.fromEntries(perOutput.map((o) => [o.name, o.rows[i]]))) };
}

/** TF Serving writes a string output whose name ends in `_bytes` as `{"b64": …}` (api_rest.md "Encoding binary values"). */
function base64Output(t: HostTensor): boolean {
  return t.dtype === 'string' && t.name.endsWith('_bytes');
}

function splitRows(t: HostTensor): unknown[] {
  if (t.shape.length === 0) throw new Error(`output '${t.name}' has no batch dimension`);
  const rowShape = t.shape.slice(1);
  const per = elementCount(rowShape);
  return Array.from({ length: t.shape[0]! }, (_, i) => nest(t.data, rowShape, t.dtype, i * per, base64Output(t)));
}

/** One feature value of an Example: a scalar, or TF Serving's one-element list. */
function featureValue(value: unknown, where: string): unknown {
  if (Array.isArray(value)) {
    if (value.length !== 1) throw bad(`${where}: a list of ${value.length} values; each feature of this model holds one value`);
    return featureValue(value[0], where);
  }
  if (isB64(value)) throw bad(`${where}: {"b64": …} values are not supported; send text as a JSON string`);
  if (isPlainObject(value)) throw bad(`${where}: ${describeValue(value)} is not a feature value`);
  return value;
}

/**
 * A `:classify` / `:regress` body → named-feature records for the record pipeline (context merged
 * into every example). Only Kiln-trained models have named features; the task must fit the verb.
 */
export function parseExamples(
  body: unknown,
  model: Pick<ServedModel, 'name' | 'version' | 'features' | 'task'>,
  verb: 'classify' | 'regress',
): Array<Record<string, unknown>> {
  if (!model.features) {
    throw bad(
      `model '${model.name}' version ${model.version} was imported without named features; ` +
        `:${verb} needs a Kiln-trained model (use :predict)`,
    );
  }
  if (verb === 'classify' && model.task === 'regression') throw bad(`model '${model.name}' is a regression model; use :regress`);
  if (verb === 'regress' && model.task !== 'regression')
    throw bad(`model '${model.name}' is a ${model.task ?? 'non-regression'} model; use :classify`);
  if (!isPlainObject(body)) throw bad('body: must be a JSON object {signature_name?, context?, examples}');
  checkSignatureName(body);
  const context = body.context ?? {};
  if (!isPlainObject(context)) throw bad('context: must be an object of feature values shared by every example');
  if (!Array.isArray(body.examples) || body.examples.length === 0)
    throw bad('examples: must be a non-empty list of objects (feature name → value)');
  const shared = Object.fromEntries(Object.entries(context).map(([k, v]) => [k, featureValue(v, `context.${k}`)]));
  return body.examples.map((ex, i) => {
    if (!isPlainObject(ex)) throw bad(`examples[${i}]: must be an object (feature name → value)`);
    const record: Record<string, unknown> = { ...shared };
    for (const [k, v] of Object.entries(ex)) {
      if (k in shared) throw bad(`examples[${i}].${k}: also given in context`);
      record[k] = featureValue(v, `examples[${i}].${k}`);
    }
    return record;
  });
}

/**
 * `:classify` / `:regress` on an imported model's classify or regress signature: each example (with
 * `context`) gives one value per signature input, named by the input (the Example feature it stands
 * for, as TF Serving's signatures parse tf.Examples in the graph): a number, or a list for inputs
 * wider than one value per example. → one tensor per input, the batch dimension first.
 */
export function parseSignatureExamples(body: unknown, view: Pick<ServedModel, 'name' | 'inputs'>): HostTensor[] {
  if (!isPlainObject(body)) throw bad('body: must be a JSON object {signature_name?, context?, examples}');
  const context = body.context ?? {};
  if (!isPlainObject(context)) throw bad('context: must be an object of feature values shared by every example');
  if (!Array.isArray(body.examples) || body.examples.length === 0)
    throw bad('examples: must be a non-empty list of objects (feature name → value)');
  const instances = body.examples.map((ex, i) => {
    if (!isPlainObject(ex)) throw bad(`examples[${i}]: must be an object (feature name → value)`);
    const merged: Record<string, unknown> = { ...context };
    for (const [k, v] of Object.entries(ex)) {
      if (k in context) throw bad(`examples[${i}].${k}: also given in context`);
      merged[k] = v;
    }
    // Only the signature's features are fed; TF Serving's Example parsing ignores the others too.
    return Object.fromEntries(
      view.inputs.map((spec) => {
        if (!(spec.name in merged)) throw bad(`examples[${i}]: feature '${spec.name}' is missing`);
        const v = merged[spec.name];
        // One value per example for [-1] inputs (TF Serving's one-element lists unwrapped), a list otherwise.
        const value = spec.shape.length === 1 ? featureValue(v, `examples[${i}].${spec.name}`) : Array.isArray(v) ? v : [v];
        return [spec.name, value];
      }),
    );
  });
  return parseInstances(instances, view);
}

/** A `classes` element: string classes are UTF-8 bytes, numeric ones are written as text. */
function classLabel(v: number | Uint8Array): string {
  return typeof v === 'number' ? String(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
}

/** A signature output's numbers; a string output cannot be a score or a regression value (400). */
function numericData(t: HostTensor, method: 'classify' | 'regress'): Float32Array | Int32Array | Uint8Array | Float64Array {
  if (Array.isArray(t.data)) throw bad(`the ${method} signature's output '${t.name}' holds strings; it must hold numbers`);
  return t.data;
}

/** `{"results": [value, …]}` from a regress signature's output (one value per example). */
export function regressSignatureResponse(result: InferenceResult, examples: number): { results: Float32Value[] } {
  const out = { ...result.outputs[0]!, data: numericData(result.outputs[0]!, 'regress') };
  if (out.data.length !== examples) {
    throw bad(`the regress signature's output has ${out.data.length} values for ${examples} examples; it must give one per example`);
  }
  return { results: Array.from(out.data, (v) => new Float32Value(v)) };
}

/**
 * `{"results": [[[class, score], …], …]}` from a classify signature: its `scores` output (else the
 * first) per example; class labels from a `classes` output when the signature has one (numbers
 * written as text), else "" as TF Serving writes them for signatures without classes.
 */
export function classifySignatureResponse(result: InferenceResult, examples: number): { results: Array<Array<[string, Float32Value]>> } {
  const scoresTensor = result.outputs.find((t) => t.name === 'scores') ?? result.outputs[0]!;
  const scores = { ...scoresTensor, data: numericData(scoresTensor, 'classify') };
  const classes = result.outputs.find((t) => t.name === 'classes' && t !== scoresTensor);
  const per = scores.data.length / examples;
  if (!Number.isInteger(per) || per < 1) throw bad(`the classify signature's scores do not split into ${examples} examples`);
  return {
    results: Array.from({ length: examples }, (_, i) =>
      Array.from({ length: per }, (_, j): [string, Float32Value] => [
        classes ? classLabel(classes.data[i * per + j]!) : '',
        new Float32Value(scores.data[i * per + j]!),
      ]),
    ),
  };
}

/**
 * `{"results": [[[label, score], …], …]}`: one pair per class, in the model's class order. The key is
 * `results`, as TF Serving's server writes it (json_tensor.cc) and its tests read it; scores are the
 * model's float32 values.
 */
export function classifyResponse(predictions: readonly ml.RecordPrediction[]): { results: Array<Array<[string, Float32Value]>> } {
  return {
    results: predictions.map((p) =>
      Object.entries(p.probabilities ?? {}).map(([label, score]): [string, Float32Value] => [label, new Float32Value(score)]),
    ),
  };
}

/** `{"results": [value, …]}` (float32 values). */
export function regressResponse(predictions: readonly ml.RecordPrediction[]): { results: Float32Value[] } {
  return { results: predictions.map((p) => new Float32Value(p.value as number)) };
}

/**
 * GetModelStatus: one entry per version. `readiness` is given for `/v1/models/{name}` without a version
 * or label, which is also KServe V1's model-ready route: its `name` and `ready` come first, then TF
 * Serving's `model_version_status`. The two protocols share the path and no header tells their clients
 * apart, so the answer carries both; each client reads its own fields (KServe's `InferenceRESTClient`
 * reads `ready`, TF Serving's clients `model_version_status`).
 */
export function modelStatusResponse(
  states: ReadonlyArray<{ version: number; state: string; error: string | null }>,
  readiness?: { name: string; ready: boolean },
) {
  return {
    ...readiness,
    model_version_status: states.map((s) => ({
      version: String(s.version),
      state: s.state,
      status: { error_code: s.error ? 'UNKNOWN' : 'OK', error_message: s.error ?? '' },
    })),
  };
}

const DT: Record<TensorDtype, string> = {
  float32: 'DT_FLOAT',
  int32: 'DT_INT32',
  bool: 'DT_BOOL',
  string: 'DT_STRING',
  int64: 'DT_INT64',
  float64: 'DT_DOUBLE',
};

/** A TensorInfo: its `name` is the graph tensor, `node:0` as TensorFlow names a node's first output. */
function tensorInfo(spec: TensorSpec) {
  const tensor = spec.tensor ?? spec.name;
  return {
    dtype: DT[spec.dtype],
    tensor_shape: { dim: spec.shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false },
    name: tensor.includes(':') ? tensor : `${tensor}:0`,
  };
}

function signatureDef(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[], method: string) {
  return {
    inputs: Object.fromEntries(inputs.map((s) => [s.name, tensorInfo(s)])),
    outputs: Object.fromEntries(outputs.map((s) => [s.name, tensorInfo(s)])),
    method_name: `tensorflow/serving/${method}`,
    // TF Serving writes every SignatureDef field, `defaults` included (empty unless the model has some).
    defaults: {},
  };
}

/**
 * GetModelMetadata in TF Serving's JSON shape: the signature_def map with `serving_default` (method
 * `predict`, as Kiln serves it on :predict) and every named signature of an imported graph model.
 */
export function modelMetadataResponse(model: ServedModel) {
  return {
    model_spec: { name: model.name, signature_name: '', version: String(model.version) },
    metadata: {
      signature_def: {
        signature_def: {
          [SIGNATURE_NAME]: signatureDef(model.inputs, model.outputs, 'predict'),
          ...Object.fromEntries(
            Object.entries(model.signatures ?? {}).map(([name, d]) => [name, signatureDef(d.inputs, d.outputs, d.method)]),
          ),
        },
      },
    },
  };
}
