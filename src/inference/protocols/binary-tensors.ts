/**
 * Triton's binary tensor data extension to the Open Inference Protocol (`binary_tensor_data`), both ways.
 *
 * Request: with the `Inference-Header-Content-Length` header the body is that many bytes of JSON, then
 * the raw tensors (the platform parser hands them over as a `JsonWithBinary`). An input with
 * `parameters.binary_data_size: n` takes the next n bytes, in the order of `inputs`, and has no `data`.
 * Fixed-size datatypes are little-endian, row-major; BOOL is one byte; BYTES elements are a 4-byte
 * little-endian length and the bytes (kept as bytes: a string tensor's elements need not be UTF-8).
 * `inlineBinaryInputs` decodes them into the JSON form the OIP codec already checks (datatype
 * ranges, the signature's dtype): FP16 and BF16 — which JSON cannot carry — become the FP32 numbers
 * they denote (exactly: both are subsets of float32).
 *
 * Raw binary request (`Inference-Header-Content-Length: 0`): no JSON at all; the whole body is the
 * tensor of the model's only input, its shape deduced from the signature (at most one variable
 * dimension), every output answered in binary. Triton's rules and messages (`rawBinaryRequest`).
 *
 * Response: `parameters.binary_data_output: true` asks for every output in binary, an output's own
 * `parameters.binary_data` overrides it for that output (as Triton and KServe do). A binary output
 * has `parameters.binary_data_size` and no `data`; its bytes follow the JSON in output order; the
 * answer is `application/octet-stream` with `Inference-Header-Content-Length` = length of the JSON.
 */
import { BadRequestException } from '@nestjs/common';
import { getFloat16 } from '@petamoriken/float16';
import { JsonWithBinary } from '../../platform/http/json-body';
import type { HostTensor, InferenceResult, ServedModel, TensorDtype } from '../runtime/served-model';
import { isPlainObject } from './tensor-values';

/** The extension's name in `GET /v2` `extensions`. */
export const BINARY_TENSOR_EXTENSION = 'binary_tensor_data';

/** Bytes per element of the fixed-size datatypes (BYTES is variable). */
export const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  BF16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

function bad(message: string): BadRequestException {
  return new BadRequestException(message);
}

/** The declared `binary_data_size` of a raw input, or undefined. */
function declaredSize(raw: Record<string, unknown>, where: string): number | undefined {
  const parameters = raw.parameters;
  if (!isPlainObject(parameters) || parameters.binary_data_size === undefined) return undefined;
  const size = parameters.binary_data_size;
  if (!Number.isSafeInteger(size) || (size as number) < 0) {
    throw bad(`${where}.parameters.binary_data_size: must be a non-negative integer (a byte count)`);
  }
  return size as number;
}

function elementCountOf(shape: unknown): number | null {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return null;
  return (shape as number[]).reduce((a, b) => a * b, 1);
}

/**
 * Decodes one input's little-endian bytes into JSON values of `datatype` (numbers, booleans, or bytes
 * for BYTES), element by element: what BYTES inputs are read with (`decodeRawData`); the fixed-size
 * datatypes are read at once by `decodeRawNumbers` (into the same values).
 */
export function decodeRawTensor(bytes: Buffer, datatype: string, where: string): unknown[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = ELEMENT_BYTES[datatype];
  if (width === undefined) return decodeBytes(bytes, where);
  const n = bytes.byteLength / width;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const o = i * width;
    switch (datatype) {
      case 'BOOL':
        out[i] = view.getUint8(o) !== 0;
        break;
      case 'UINT8':
        out[i] = view.getUint8(o);
        break;
      case 'INT8':
        out[i] = view.getInt8(o);
        break;
      case 'UINT16':
        out[i] = view.getUint16(o, true);
        break;
      case 'INT16':
        out[i] = view.getInt16(o, true);
        break;
      case 'FP16':
        out[i] = getFloat16(view, o, true);
        break;
      case 'BF16':
        // bfloat16 is the upper half of a float32: no library needed to widen it.
        out[i] = new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0];
        break;
      case 'UINT32':
        out[i] = view.getUint32(o, true);
        break;
      case 'INT32':
        out[i] = view.getInt32(o, true);
        break;
      case 'FP32':
        out[i] = view.getFloat32(o, true);
        break;
      case 'FP64':
        out[i] = view.getFloat64(o, true);
        break;
      default: {
        // INT64 / UINT64: exact as JSON numbers only within ±2^53 (the OIP codec's range for them).
        const big = datatype === 'INT64' ? view.getBigInt64(o, true) : view.getBigUint64(o, true);
        if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw bad(`${where}[${i}]: ${big} is beyond what Kiln reads exactly as ${datatype} (±2^53)`);
        }
        out[i] = Number(big);
      }
    }
  }
  return out;
}

/** A typed array class (its view constructor). */
type TypedArrayOf<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; readonly BYTES_PER_ELEMENT: number };

/**
 * The typed array each fixed-size datatype decodes into at once: the number datatypes their own (FP16/BF16
 * the float32 values they denote), BOOL its bytes (any non-zero byte is true: the codec reads them so),
 * INT64/UINT64 float64 (the values checked to be within ±2^53, what a double holds exactly).
 */
const TYPED: Readonly<Record<string, TypedArrayOf<RawNumbers>>> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  INT8: Int8Array,
  UINT16: Uint16Array,
  INT16: Int16Array,
  UINT32: Uint32Array,
  INT32: Int32Array,
  UINT64: Float64Array,
  INT64: Float64Array,
  FP32: Float32Array,
  FP64: Float64Array,
  FP16: Float32Array,
  BF16: Float32Array,
};

/** The decoded elements of a fixed-size datatype (every value valid for it by construction; BOOL: bytes, non-zero = true). */
export type RawNumbers = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/**
 * Decodes one input's little-endian bytes into a typed array of its datatype (see `TYPED`), or null for
 * BYTES (and unknown datatypes), which `decodeRawTensor` reads. A large raw tensor is then a view of its
 * bytes (a copy when unaligned; one pass over them for FP16/BF16/INT64/UINT64), not millions of JS values: the
 * element-by-element decode (DataView call, switch, boxed number) cost ~0.1 µs per element and the
 * JSON-like list ~9 bytes per element more. Shared by the binary tensor extension, shared memory and
 * gRPC's `raw_input_contents`. A 64-bit integer beyond ±2^53 is a 400 naming `where[i]`. Trailing bytes
 * short of an element are ignored (callers check the byte count first).
 */
export function decodeRawNumbers(bytes: Buffer, datatype: string, where: string): RawNumbers | null {
  const Typed = TYPED[datatype];
  if (Typed === undefined) return null;
  const n = Math.floor(bytes.byteLength / ELEMENT_BYTES[datatype]!);
  if (datatype === 'FP16' || datatype === 'BF16') {
    const halves = elementsOf(bytes, Uint16Array, n);
    const out = new Float32Array(n);
    if (datatype === 'FP16') {
      const table = fp16Table();
      for (let i = 0; i < n; i++) out[i] = table[halves[i]!]!;
    } else {
      // bfloat16 is the upper half of a float32: no library needed to widen it.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = halves[i]! << 16;
    }
    return out;
  }
  if (datatype === 'INT64' || datatype === 'UINT64') return exactInt64(elementsOf(bytes, Int32Array, 2 * n), bytes, datatype, where);
  return elementsOf(bytes, Typed, n);
}

/**
 * The first `n` elements of `bytes` as a `Typed` array: a view of them when they are aligned for it, else
 * a copy (a body's or a protobuf message's bytes start anywhere). Typed arrays hold the platform's byte
 * order; every platform Node supports for Kiln (x64, arm64) is little-endian, so the wire bytes are the
 * elements. A view shares the request's bytes: the codec only reads it (into the tensor it allocates).
 */
function elementsOf<T>(bytes: Buffer, Typed: TypedArrayOf<T>, n: number): T {
  const width = Typed.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % width === 0) return new Typed(bytes.buffer, bytes.byteOffset, n);
  // Buffer.allocUnsafe: small ones come from Node's pool (8-byte aligned slices), no ArrayBuffer per call.
  const copy = Buffer.allocUnsafe(n * width);
  bytes.copy(copy, 0, 0, n * width);
  if (copy.byteOffset % width === 0) return new Typed(copy.buffer, copy.byteOffset, n);
  return new Typed(copy.buffer.slice(copy.byteOffset, copy.byteOffset + n * width), 0, n);
}

let FP16_TABLE: Float32Array | null = null;

/** The float32 value of each of the 65 536 float16 bit patterns (256 kB, built once with the float16 library). */
function fp16Table(): Float32Array {
  if (FP16_TABLE) return FP16_TABLE;
  const view = new DataView(new ArrayBuffer(2));
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    view.setUint16(0, h, true);
    table[h] = getFloat16(view, 0, true);
  }
  return (FP16_TABLE = table);
}

/** 2^21: a 64-bit integer is within ±(2^53 − 1) when its high 32 bits are within ±2^21 (see `exactInt64`). */
const HIGH_LIMIT = 0x200000;

/**
 * INT64/UINT64 elements (as pairs of 32-bit words, low first) → float64, each checked to be within
 * ±(2^53 − 1) from its high word alone: with `hi·2^32 + lo` (lo unsigned), INT64 holds when
 * −2^21 < hi < 2^21, or hi = −2^21 and lo > 0; UINT64 when hi (unsigned) < 2^21.
 */
function exactInt64(words: Int32Array, bytes: Buffer, datatype: string, where: string): Float64Array {
  const n = words.length / 2;
  const out = new Float64Array(n);
  const signed = datatype === 'INT64';
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i]! >>> 0;
    const hi = signed ? words[2 * i + 1]! : words[2 * i + 1]! >>> 0;
    if (!(hi < HIGH_LIMIT && (hi > -HIGH_LIMIT || (hi === -HIGH_LIMIT && lo > 0)))) {
      const big = signed ? bytes.readBigInt64LE(i * 8) : bytes.readBigUInt64LE(i * 8);
      throw bad(`${where}[${i}]: ${big} is beyond what Kiln reads exactly as ${datatype} (±2^53)`);
    }
    out[i] = hi * 4294967296 + lo;
  }
  return out;
}

/**
 * One input's raw bytes decoded: a typed array for the fixed-size datatypes (`decodeRawNumbers`), the
 * elements for BYTES (`decodeRawTensor`: length-prefixed, kept as bytes; 400s name `where[i]`).
 */
export function decodeRawData(bytes: Buffer, datatype: string, where: string): RawNumbers | unknown[] {
  return decodeRawNumbers(bytes, datatype, where) ?? decodeRawTensor(bytes, datatype, where);
}

/** BYTES: each element a 4-byte little-endian length and that many bytes (kept as bytes). */
function decodeBytes(bytes: Buffer, where: string): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (o + 4 > bytes.length) throw bad(`${where}[${out.length}]: truncated BYTES element (no room for its 4-byte length)`);
    const n = bytes.readUInt32LE(o);
    if (o + 4 + n > bytes.length) throw bad(`${where}[${out.length}]: BYTES element of ${n} bytes runs past the input's binary data`);
    out.push(bytes.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

/**
 * An input whose tensor came as raw bytes (binary data, shared memory) in the JSON form the OIP codec
 * checks: `data` decoded (FP16/BF16 as FP32; a typed array for the fixed-size datatypes, see
 * `decodeRawNumbers`), the byte count checked against the shape for fixed-size datatypes, and the
 * parameters that located the bytes (`located_by`, the first named in messages) dropped.
 * An unknown datatype is left as it is for the codec to name.
 */
export function inputWithRawData(raw: Record<string, unknown>, bytes: Buffer, where: string, locatedBy: string[]): Record<string, unknown> {
  const datatype = typeof raw.datatype === 'string' ? raw.datatype : '';
  const width = ELEMENT_BYTES[datatype];
  const count = elementCountOf(raw.shape);
  if (width !== undefined && count !== null && count * width !== bytes.length) {
    throw bad(
      `${where}.parameters.${locatedBy[0]}: unexpected total byte size ${bytes.length} for input '${String(raw.name)}', ` +
        `expecting ${count * width}`,
    );
  }
  if (width !== undefined && bytes.length % width !== 0) {
    // a shape the check above cannot use leaves the element count to the bytes: they must hold whole elements
    throw bad(
      `${where}.parameters.${locatedBy[0]}: ${bytes.length} bytes are not a whole number of ${datatype} elements (${width} bytes each)`,
    );
  }
  if (width === undefined && datatype !== 'BYTES') return raw; // the OIP codec names the bad datatype
  const parameters = Object.fromEntries(Object.entries(raw.parameters as Record<string, unknown>).filter(([k]) => !locatedBy.includes(k)));
  const widened = datatype === 'FP16' || datatype === 'BF16';
  return {
    ...raw,
    ...(widened ? { datatype: 'FP32' } : {}),
    parameters,
    data: decodeRawData(bytes, datatype, `${where}.data`),
  };
}

/**
 * Replaces every binary input of an inference request by its JSON form (`data` decoded, FP16/BF16 as
 * FP32), checking the extension's rules; `binary` is the bytes after the JSON (absent for a plain
 * JSON body). Returns the body unchanged when nothing is binary. 400s name the field.
 */
export function inlineBinaryInputs(body: unknown, binary: Buffer | undefined, modelName: string): unknown {
  if (!isPlainObject(body) || !Array.isArray(body.inputs)) {
    if (binary?.length) throw bad(`body: ${binary.length} bytes of binary data follow the JSON but no input declares binary_data_size`);
    return body;
  }
  let offset = 0;
  let changed = false;
  const inputs = body.inputs.map((raw: unknown, i) => {
    const where = `inputs[${i}]`;
    if (!isPlainObject(raw)) return raw;
    const size = declaredSize(raw, where);
    if (size === undefined) return raw;
    if (raw.data !== undefined) {
      throw bad(
        `${where}: Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', ` +
          `'shared_memory_region' in 'parameters'. But set 'data' 'binary_data_size'`,
      );
    }
    if (binary === undefined) {
      throw bad(
        `${where}.parameters.binary_data_size: must specify valid 'Inference-Header-Content-Length' in request header ` +
          `and 'binary_data_size' when passing inputs in binary data format`,
      );
    }
    if (offset + size > binary.length) {
      throw bad(
        `${where}.parameters.binary_data_size: ${size} bytes from offset ${offset} run past the binary data ` +
          `(${binary.length} bytes after the JSON header)`,
      );
    }
    const bytes = binary.subarray(offset, offset + size);
    offset += size;
    const decoded = inputWithRawData(raw, bytes, where, ['binary_data_size']);
    changed ||= decoded !== raw;
    return decoded;
  });
  if (binary !== undefined && offset !== binary.length) {
    throw bad(
      `body: unexpected additional input data for model '${modelName}' (${binary.length - offset} bytes after the last binary input)`,
    );
  }
  return changed ? { ...body, inputs } : body;
}

/** Where a raw BYTES request keeps its one length-prefixed element (the binary part it stands for). */
export const RAW_BYTES = Symbol('raw BYTES element');

const RAW_DATATYPE: Record<TensorDtype, string> = {
  float32: 'FP32',
  int32: 'INT32',
  bool: 'BOOL',
  string: 'BYTES',
  int64: 'INT64',
  float64: 'FP64',
};

/**
 * Triton's raw binary request: the whole body is the one input's tensor. Returns the inference
 * request it stands for (that input as binary data, every output in binary).
 */
export function rawBinaryRequest(
  model: Pick<ServedModel, 'name' | 'inputs'>,
  bytes: Buffer,
): Record<string, unknown> & { [RAW_BYTES]?: Buffer } {
  if (model.inputs.length !== 1) {
    throw bad(
      `Raw request must only have 1 input (found 1) to be deduced but got ${model.inputs.length} inputs in ` +
        `'${model.name}' model configuration`,
    );
  }
  const spec = model.inputs[0]!;
  // A leading -1 is Triton's batch dimension (max_batch_size > 0, as GET …/config shows it): Triton
  // deduces the rest of the shape (`dims`) for a batch of one and allows one variable dimension there.
  const batch = spec.shape[0] === -1;
  const dims = batch ? spec.shape.slice(1) : spec.shape;
  const variable = dims.filter((d) => d < 0).length;
  if (variable > 1) {
    throw bad(`The shape of the raw input '${spec.name}' can not be deduced because there are more than one variable-sized dimension`);
  }
  const datatype = RAW_DATATYPE[spec.dtype];
  if (datatype === 'BYTES') {
    // One element, the whole body (no length prefix), for an input that holds exactly one element.
    if (variable > 0 || dims.reduce((a, b) => a * b, 1) !== 1) {
      throw bad(`For BYTE datatype raw input '${spec.name}', the model must have input shape [1]`);
    }
    const element = Buffer.alloc(4);
    element.writeUInt32LE(bytes.length);
    return {
      inputs: [{ name: spec.name, shape: batch ? [1, ...dims] : dims, datatype, parameters: { binary_data_size: bytes.length + 4 } }],
      parameters: { binary_data_output: true },
      [RAW_BYTES]: Buffer.concat([element, bytes]),
    };
  }
  // The dimension the body's length decides: the variable one of `dims`, else the batch dimension
  // (Kiln's addition: Triton takes a batch of one only; Kiln takes N whole rows).
  const deduced = variable === 1 ? dims.findIndex((d) => d < 0) + (batch ? 1 : 0) : batch ? 0 : -1;
  const rowBytes = spec.shape.filter((d, k) => d >= 0 || k !== deduced).reduce((a, b) => (b < 0 ? a : a * b), 1) * ELEMENT_BYTES[datatype]!;
  const many = deduced >= 0;
  if (rowBytes === 0 ? bytes.length !== 0 : bytes.length % rowBytes !== 0 || (!many && bytes.length !== rowBytes)) {
    throw bad(
      `body: ${bytes.length} bytes are not ${many ? 'a whole number of' : 'one'} ${datatype} tensor${many ? 's' : ''} ` +
        `of shape [${spec.shape.map((d, k) => (k === deduced ? 'N' : d < 0 ? 1 : d)).join(', ')}] (${rowBytes} bytes each) ` +
        `for the raw input '${spec.name}'`,
    );
  }
  const shape = spec.shape.map((d, k) => (k === deduced ? (rowBytes === 0 ? 0 : bytes.length / rowBytes) : d < 0 ? 1 : d));
  return {
    inputs: [{ name: spec.name, shape, datatype, parameters: { binary_data_size: bytes.length } }],
    parameters: { binary_data_output: true },
  };
}

/** Which outputs go back in binary: `binary_data_output` for all, each output's `binary_data` overriding it. */
export interface BinaryOutputChoice {
  all: boolean;
  byName: Map<string, boolean>;
}

/** Reads (and checks) the binary output parameters of a request body; null when none asks for binary. */
export function binaryOutputChoice(body: unknown): BinaryOutputChoice | null {
  if (!isPlainObject(body)) return null;
  let all = false;
  if (isPlainObject(body.parameters) && body.parameters.binary_data_output !== undefined) {
    if (typeof body.parameters.binary_data_output !== 'boolean') throw bad('parameters.binary_data_output: must be true or false');
    all = body.parameters.binary_data_output;
  }
  const byName = new Map<string, boolean>();
  if (Array.isArray(body.outputs)) {
    body.outputs.forEach((raw: unknown, i) => {
      if (!isPlainObject(raw) || !isPlainObject(raw.parameters) || raw.parameters.binary_data === undefined) return;
      if (typeof raw.parameters.binary_data !== 'boolean') throw bad(`outputs[${i}].parameters.binary_data: must be true or false`);
      if (typeof raw.name === 'string') byName.set(raw.name, raw.parameters.binary_data);
    });
  }
  return all || [...byName.values()].some(Boolean) ? { all, byName } : null;
}

/** The raw little-endian bytes of a host tensor (float32, int32, float64, int64, or bool as one byte each; BYTES length-prefixed). */
export function tensorBytes(t: HostTensor): Buffer {
  if (Array.isArray(t.data)) {
    // BYTES: each element a 4-byte little-endian length, then its bytes
    const parts: Buffer[] = [];
    for (const b of t.data) {
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b.length);
      parts.push(n, Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    }
    return Buffer.concat(parts);
  }
  // int64 is held as float64 (served-model.ts): its wire form is the 64-bit integer.
  const d = t.dtype === 'int64' ? int64Words(t.data as Float64Array) : t.data;
  // Typed arrays hold the platform's byte order; every platform Node supports for Kiln (x64, arm64) is little-endian.
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * Integers held as float64 → their 64-bit two's complement words (low, high), without a BigInt per
 * element: high = ⌊v / 2^32⌋ and low = v − high·2^32 are exact for every integer a double holds, and an
 * Int32Array keeps both modulo 2^32 (as BigInt64Array wraps modulo 2^64).
 */
function int64Words(data: Float64Array): Int32Array {
  const words = new Int32Array(2 * data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const high = Math.floor(v / 4294967296);
    words[2 * i] = v - high * 4294967296;
    words[2 * i + 1] = high;
  }
  return words;
}

export interface BinaryInferResponse {
  /** JSON header followed by the binary outputs. */
  body: Buffer;
  /** Byte length of the JSON header: the `Inference-Header-Content-Length` response header. */
  headerLength: number;
}

/**
 * Turns a JSON inference response into the binary form for the outputs `choice` selects: their `data`
 * is dropped for `parameters.binary_data_size` and their bytes appended after the JSON, in order.
 * `stringify` writes the JSON header (the serving JSON writer). Null when no output ends up binary
 * (the answer is then plain JSON, as Triton's).
 */
export function binaryInferResponse<R extends { outputs: Array<{ name: string; parameters?: Record<string, unknown>; data?: unknown }> }>(
  response: R,
  result: Pick<InferenceResult, 'outputs'>,
  choice: BinaryOutputChoice,
  stringify: (value: unknown) => string = JSON.stringify,
): BinaryInferResponse | null {
  const chunks: Buffer[] = [];
  const outputs = response.outputs.map((output) => {
    if (!(choice.byName.get(output.name) ?? choice.all)) return output;
    const tensor = result.outputs.find((t) => t.name === output.name);
    if (!tensor) return output;
    const bytes = tensorBytes(tensor);
    chunks.push(bytes);
    const { data: _data, ...rest } = output;
    return { ...rest, parameters: { ...(output.parameters ?? {}), binary_data_size: bytes.length } };
  });
  if (chunks.length === 0) return null;
  const header = Buffer.from(stringify({ ...response, outputs }), 'utf8');
  return { body: Buffer.concat([header, ...chunks]), headerLength: header.length };
}

/** A parsed body's JSON and binary parts (a plain JSON body has no binary part). */
export function splitBody(body: unknown): { json: unknown; binary?: Buffer } {
  return body instanceof JsonWithBinary ? { json: body.json, binary: body.binary } : { json: body };
}
