/**
 * Open Inference Protocol v2 (REST, JSON) codec: inference request bodies → HostTensors for the
 * runtime, InferenceResults → inference responses, ServedModels → model metadata. Pure functions;
 * every bad input is a 400 naming the field (`inputs[0].shape`, …). The runtime then checks the
 * tensors against the model's signature (names, dtypes, shapes).
 *
 * Datatypes: FP32, FP64 and the INT and UINT types become the float32, float64, int32 or int64 tensor the signature asks for (values
 * checked against both the declared datatype's range and the target's), BOOL a bool tensor. FP16
 * and BF16 cannot be sent as JSON numbers (400 naming the input): they come as binary data (binary-tensors.ts).
 * BYTES (JSON strings, or bytes from the binary extension) goes to string inputs only (400 elsewhere, naming the input).
 */
import { BadRequestException, NotFoundException } from '@nestjs/common';
import { parseVersionNumber } from '../../models';
import {
  elementCount,
  type HostTensor,
  type InferenceResult,
  type ServedModel,
  type TensorDtype,
  type TensorSpec,
} from '../runtime/served-model';
import { allocate, at, describeValue, flat, fmt, isPlainObject, leafCount, scalarProblem, store, type TypedData } from './tensor-values';
import type { RouteMethods } from './route-methods';
import { OIP_EXTENSIONS } from './oip-extensions';
import { BINARY_TENSOR_EXTENSION } from './binary-tensors';
import { shapeOverflowInTritonWords } from './triton-errors';
import { clientRequestIdProblem } from '../../platform/logging/logging';

export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BF16',
  'BYTES',
] as const;
export type OipDatatype = (typeof OIP_DATATYPES)[number];

export interface OipTensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface OipOutput extends OipTensorMetadata {
  /** A typed array carries its dtype to the serving JSON writer (float32 printed as float32). */
  data: boolean[] | string[] | Float32Array | Int32Array | Float64Array;
}

export interface OipInferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: OipOutput[];
}

export interface OipModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: OipTensorMetadata[];
  outputs: OipTensorMetadata[];
}

export interface ParsedInferRequest {
  /** The request's `id`, echoed in the response. */
  id?: string;
  inputs: HostTensor[];
  /** Requested outputs (names), absent = all. */
  outputs?: string[];
}

/** The /v2 routes and their methods (for 405 answers). */
export const OIP_ROUTES: RouteMethods[] = [
  { pattern: /^\/v2$/, methods: ['GET'] },
  { pattern: /^\/v2\/health\/(live|ready)$/, methods: ['GET'] },
  { pattern: /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?$/, methods: ['GET'] },
  { pattern: /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/ready$/, methods: ['GET'] },
  { pattern: /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer$/, methods: ['POST'] },
];

const DATATYPE_OF: Record<TensorDtype, OipDatatype> = {
  float32: 'FP32',
  int32: 'INT32',
  bool: 'BOOL',
  string: 'BYTES',
  int64: 'INT64',
  float64: 'FP64',
};

export function oipDatatype(dtype: TensorDtype): OipDatatype {
  return DATATYPE_OF[dtype];
}

/** Integer datatypes: the range a JSON value must be in. 64-bit ones are limited to what a double holds exactly. */
const INTEGER_RANGE: Partial<Record<OipDatatype, [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/** The tensor dtype a datatype naturally maps to (used when the signature has no input of that name). */
function naturalDtype(datatype: OipDatatype): TensorDtype {
  if (datatype === 'BOOL') return 'bool';
  if (datatype === 'BYTES') return 'string';
  return datatype.startsWith('FP') ? 'float32' : 'int32';
}

/** Why `value` is not a valid `datatype` element, or null. */
function datatypeProblem(value: unknown, datatype: OipDatatype): string | null {
  if (datatype === 'BYTES') {
    // JSON strings; raw bytes when they came as binary data
    return typeof value === 'string' || value instanceof Uint8Array ? null : `${describeValue(value)} is not a string (datatype BYTES)`;
  }
  if (datatype === 'BOOL') return typeof value === 'boolean' ? null : `${describeValue(value)} is not a boolean (datatype BOOL)`;
  if (typeof value !== 'number') return `${describeValue(value)} is not a number (datatype ${datatype})`;
  const range = INTEGER_RANGE[datatype];
  if (range && !(Number.isInteger(value) && value >= range[0] && value <= range[1])) return `${value} is not a valid ${datatype}`;
  // NaN and ±Infinity (read from Triton's tokens) are float values; a finite value past float32 is refused.
  if (datatype === 'FP32' && Number.isFinite(value) && Math.abs(value) > 3.4028234663852886e38) return `${value} is out of the FP32 range`;
  return null;
}

function bad(message: string): BadRequestException {
  return new BadRequestException(message);
}

function parseShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw bad(`${where}.shape: must be a list of non-negative integers`);
  }
  return shape as number[];
}

function checkParameters(parameters: unknown, where: string): Record<string, unknown> | undefined {
  if (parameters === undefined) return undefined;
  if (!isPlainObject(parameters)) throw bad(`${where}parameters: must be an object`);
  return parameters;
}

/** One request input → a HostTensor of the dtype `spec` needs. */
function parseInput(raw: unknown, index: number, specs: readonly TensorSpec[]): HostTensor {
  const where = `inputs[${index}]`;
  if (!isPlainObject(raw)) throw bad(`${where}: must be an object {name, shape, datatype, data}`);
  const { name, datatype, data } = raw;
  if (typeof name !== 'string' || name.length === 0) throw bad(`${where}.name: must be a non-empty string`);
  const overflow = shapeOverflowInTritonWords(raw.shape, datatype, name);
  if (overflow) throw bad(`${where}.shape: ${overflow}`);
  const shape = parseShape(raw.shape, where);
  if (typeof datatype !== 'string' || !(OIP_DATATYPES as readonly string[]).includes(datatype)) {
    throw bad(`${where}.datatype: ${JSON.stringify(datatype)} is not a datatype (one of ${OIP_DATATYPES.join(', ')})`);
  }
  const dt = datatype as OipDatatype;
  checkParameters(raw.parameters, `${where}.`);
  if (dt === 'FP16' || dt === 'BF16') {
    throw bad(`${where}.datatype: ${dt} cannot be sent as JSON numbers; send it as binary data (parameters.binary_data_size) or as FP32`);
  }
  const spec = specs.find((s) => s.name === name);
  if (dt === 'BYTES' && spec && spec.dtype !== 'string') {
    throw bad(`${where}.datatype: BYTES needs a string tensor; input '${name}' is ${oipDatatype(spec.dtype)}`);
  }
  const dtype = spec?.dtype ?? naturalDtype(dt);
  if ((dtype === 'bool') !== (dt === 'BOOL') || (dtype === 'string') !== (dt === 'BYTES')) {
    throw bad(`${where}.datatype: input '${name}' is ${oipDatatype(dtype)}; ${dt} data cannot be converted to it`);
  }
  // A typed array: a raw input (binary data, shared memory, gRPC raw contents) decoded by binary-tensors.ts (decodeRawNumbers), never JSON.
  const typed = ArrayBuffer.isView(data) && !(data instanceof DataView) ? (data as unknown as ArrayLike<number>) : null;
  if (!typed && !Array.isArray(data)) throw bad(`${where}.data: must be a list (flat or nested, row-major)`);
  const count = elementCount(shape);
  const flatList = typed ?? (data as unknown[]);
  // Flat only when no element is a list: [[1.5]] for [1, 1] has as many entries as elements and is still nested.
  const isFlatList = typed !== null || isFlat(flatList as unknown[]);
  const leaves = isFlatList ? flatList.length : leafCount(data);
  if (leaves !== count) {
    throw bad(`${where}.data: ${leaves} elements for shape ${fmt(shape)}, which needs ${count}`);
  }
  const out = allocate(dtype, count);
  if (typed) fillTyped(typed, dt, dtype, out, `${where}.data`);
  else if (isFlatList) fillFlat(flatList as unknown[], dt, dtype, out, `${where}.data`);
  else fillAny(data as unknown[], dt, dtype, out, `${where}.data`);
  return { name, dtype, shape, data: out };
}

/** No element is a list (a loop, not `every` and its callback: this runs over every element of large tensors). */
function isFlat(data: unknown[]): boolean {
  for (let i = 0; i < data.length; i++) if (Array.isArray(data[i])) return false;
  return true;
}

/** The integer datatypes whose every value an int32 tensor holds (any integer datatype's fits int64: ±2^53). */
const INT32_EXACT: ReadonlySet<OipDatatype> = new Set(['INT8', 'INT16', 'INT32', 'UINT8', 'UINT16']);

/**
 * A raw input's typed array (every value valid for its datatype, see `decodeRawNumbers`) into `out`: one
 * copy when every value of the datatype fits the target (floating point targets: assignment converts as
 * `store` does; int32 and int64 targets from the integer datatypes that fit them), BOOL's bytes as
 * true/false (any non-zero byte is true), else each value checked for the target dtype with
 * `scalarProblem`'s reasons.
 */
function fillTyped(data: ArrayLike<number>, datatype: OipDatatype, dtype: TensorDtype, typedOut: TypedData, where: string): void {
  // parseInput pairs raw (non-BYTES) data with non-string inputs only, and BOOL data with bool inputs only
  const out = typedOut as Exclude<TypedData, Uint8Array[]>;
  if (dtype === 'bool') {
    for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0 ? 1 : 0;
    return;
  }
  const fits =
    dtype === 'float32' ||
    dtype === 'float64' ||
    (dtype === 'int64' && INTEGER_RANGE[datatype] !== undefined) ||
    (dtype === 'int32' && INT32_EXACT.has(datatype));
  if (fits) {
    out.set(data);
    return;
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const problem = scalarProblem(v, dtype);
    if (problem) throw bad(`${where}[${i}]: ${problem}`);
    out[i] = v;
  }
}

/**
 * A flat JSON list into `out`, each element checked as `fillAny` does (same reasons, same location),
 * without its path bookkeeping and recursion: the common form of a large JSON tensor.
 */
function fillFlat(data: unknown[], datatype: OipDatatype, dtype: TensorDtype, out: TypedData, where: string): void {
  // float32/float64 targets from an FP32/FP64 list: a finite number in range, NaN or ±Infinity is all there is to check.
  const floats = (dtype === 'float32' || dtype === 'float64') && (datatype === 'FP32' || datatype === 'FP64') && !Array.isArray(out);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (floats && typeof v === 'number' && (datatype === 'FP64' || !(Math.abs(v) > 3.4028234663852886e38) || !Number.isFinite(v))) {
      (out as Float32Array | Float64Array)[i] = v;
      continue;
    }
    const problem = datatypeProblem(v, datatype) ?? scalarProblem(v, dtype);
    if (problem) throw bad(`${where}[${i}]: ${problem}`);
    store(out, i, v);
  }
}

/** Flattens nested or flat `data` into `out`, checking each element for the datatype and the target dtype. */
function fillAny(data: unknown[], datatype: OipDatatype, dtype: TensorDtype, out: TypedData, where: string): void {
  let offset = 0;
  const path: number[] = [];
  const walk = (list: unknown[]): void => {
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      path.push(i);
      if (Array.isArray(v)) walk(v);
      else {
        const problem = datatypeProblem(v, datatype) ?? scalarProblem(v, dtype);
        if (problem) throw bad(`${at(where, path)}: ${problem}`);
        store(out, offset++, v);
      }
      path.pop();
    }
  };
  walk(data);
}

/**
 * Parses an inference request body against the model's signature (for each input's dtype and the
 * names of `outputs`).
 */
export function parseInferRequest(body: unknown, model: Pick<ServedModel, 'name' | 'inputs' | 'outputs'>): ParsedInferRequest {
  if (!isPlainObject(body)) throw bad('body: must be a JSON object {id?, parameters?, inputs, outputs?}');
  if (body.id !== undefined && typeof body.id !== 'string') throw bad('id: must be a string');
  const idProblem = typeof body.id === 'string' ? clientRequestIdProblem(body.id) : null;
  if (idProblem) throw bad(`id: ${idProblem}`);
  checkParameters(body.parameters, '');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw bad('inputs: must be a non-empty list of tensors');
  const inputs = body.inputs.map((raw, i) => parseInput(raw, i, model.inputs));
  const seen = new Set<string>();
  inputs.forEach((t, i) => {
    if (seen.has(t.name)) throw bad(`inputs[${i}].name: '${t.name}' is given twice`);
    seen.add(t.name);
  });
  let outputs: string[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw bad('outputs: must be a list of {name, parameters?}');
    const requested = new Set<string>();
    outputs = body.outputs.map((raw, i) => {
      const where = `outputs[${i}]`;
      if (!isPlainObject(raw) || typeof raw.name !== 'string') throw bad(`${where}.name: must be a string`);
      // Triton's message, word for word (InferenceRequest::AddOriginalRequestedOutput).
      if (requested.has(raw.name)) throw bad(`output '${raw.name}' already exists in request`);
      requested.add(raw.name);
      checkParameters(raw.parameters, `${where}.`);
      if (!model.outputs.some((o) => o.name === raw.name)) {
        throw bad(
          `${where}.name: '${raw.name}' is not an output of model '${model.name}' ` +
            `(outputs: ${model.outputs.map((o) => o.name).join(', ')})`,
        );
      }
      return raw.name;
    });
  }
  return { ...(body.id !== undefined ? { id: body.id as string } : {}), inputs, ...(outputs ? { outputs } : {}) };
}

/** The inference response: outputs in signature order, filtered by the request's `outputs`, `id` echoed. */
export function inferResponse(result: InferenceResult, request: Pick<ParsedInferRequest, 'id' | 'outputs'> = {}): OipInferResponse {
  const wanted = request.outputs ? new Set(request.outputs) : null;
  return {
    model_name: result.model.name,
    model_version: String(result.model.version),
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: result.outputs
      .filter((t) => !wanted || wanted.has(t.name))
      .map((t) => ({ name: t.name, datatype: oipDatatype(t.dtype), shape: [...t.shape], data: flat(t.data, t.dtype) })),
  };
}

function tensorMetadata(spec: TensorSpec): OipTensorMetadata {
  return { name: spec.name, datatype: oipDatatype(spec.dtype), shape: [...spec.shape] };
}

/** Model metadata; `versions` are the model's available versions. */
export function modelMetadata(model: ServedModel, versions: readonly number[]): OipModelMetadata {
  return {
    name: model.name,
    versions: versions.map(String),
    platform: model.platform,
    inputs: model.inputs.map(tensorMetadata),
    outputs: model.outputs.map(tensorMetadata),
  };
}

/**
 * Server metadata: the binary tensor extension and those of oip-extensions.ts. **Kiln** adds `engines` (the TF.js backend and
 * the ONNX Runtime build this replica serves with); the schema allows extra keys.
 */
export function serverMetadata<E extends object>(
  version: string,
  engines?: E,
): { name: string; version: string; extensions: string[]; engines?: E } {
  return { name: 'kiln', version, extensions: [BINARY_TENSOR_EXTENSION, ...OIP_EXTENSIONS], ...(engines ? { engines } : {}) };
}

/** `/v2/models/{name}/versions/{v}`: Kiln versions are positive integers; anything else is an unknown version. */
export function parseVersionSegment(name: string, version: string | undefined): { version?: number } {
  if (version === undefined) return {};
  const n = parseVersionNumber(version);
  if (n === null) throw new NotFoundException(`model '${name}' has no version '${version.slice(0, 40)}'`);
  return { version: n };
}
