/**
 * Shared by the protocol codecs: JSON scalars into typed arrays for a TF.js dtype (with the reason a
 * value does not fit), nested JSON arrays flattened row-major, and typed arrays back to nested JSON.
 * Errors are 400s naming the JSON location of the value.
 */
import { BadRequestException } from '@nestjs/common';
import { elementCount, type HostTensor, type TensorDtype } from '../runtime/served-model';
import { Float32Value } from './serving-json';

export type TypedData = HostTensor['data'];

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export function allocate(dtype: TensorDtype, length: number): TypedData {
  if (dtype === 'string') return new Array<Uint8Array>(length);
  if (dtype === 'float32') return new Float32Array(length);
  if (dtype === 'int32') return new Int32Array(length);
  if (dtype === 'int64' || dtype === 'float64') return new Float64Array(length);
  return new Uint8Array(length);
}

/** Why `value` cannot be an element of a `dtype` tensor, or null when it can. */
export function scalarProblem(value: unknown, dtype: TensorDtype): string | null {
  if (dtype === 'string') {
    if (typeof value === 'string' || value instanceof Uint8Array) return null;
    if (isB64(value)) return typeof (value as { b64: unknown }).b64 === 'string' ? null : 'a {"b64": …} value must hold a base64 string';
    return `${describeValue(value)} is not a string or {"b64": …} (the input is string)`;
  }
  if (typeof value === 'string' || isB64(value))
    return `${describeValue(value)}: string and {"b64": …} values need a string input; the input is ${dtype}`;
  if (dtype === 'bool') return typeof value === 'boolean' ? null : `${describeValue(value)} is not a boolean (the input is bool)`;
  if (typeof value !== 'number') return `${describeValue(value)} is not a number (the input is ${dtype})`;
  if (dtype === 'int32' && !(Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX)) {
    return `${value} is not a 32-bit integer (the input is int32)`;
  }
  if (dtype === 'int64' && !Number.isSafeInteger(value)) {
    return `${value} is not an integer within ±2^53 (the input is int64; Kiln reads 64-bit integers exactly within that range)`;
  }
  return null;
}

/** Stores an already checked scalar. */
export function store(data: TypedData, index: number, value: unknown): void {
  if (Array.isArray(data)) {
    // string tensors: UTF-8 text, TF Serving's {"b64": …} as the bytes it encodes, or raw bytes (binary BYTES)
    data[index] =
      typeof value === 'string'
        ? Buffer.from(value, 'utf8')
        : value instanceof Uint8Array
          ? value
          : Buffer.from((value as { b64: string }).b64, 'base64');
    return;
  }
  data[index] = typeof value === 'boolean' ? (value ? 1 : 0) : (value as number);
}

/** A string tensor's element as JSON: UTF-8 text, or `{"b64": …}` where TF Serving writes base64 (outputs named `*_bytes`). */
function stringElement(bytes: Uint8Array, b64: boolean): string | { b64: string } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return b64 ? { b64: buffer.toString('base64') } : buffer.toString('utf8');
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return isB64(value) ? 'a {"b64": …} value' : 'an object';
  return String(value);
}

/** TF Serving's binary value `{"b64": "…"}`. */
export function isB64(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && 'b64' in value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `where` + `[i][j]…` for an element path. */
export function at(where: string, path: readonly number[]): string {
  return where + path.map((i) => `[${i}]`).join('');
}

/** Shape of a nested JSON array, read along its first elements (a scalar has shape []). */
export function nestedShape(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

/**
 * Writes `value` (nested exactly as `shape`) into `out` from `offset`, checking every element for
 * `dtype`; returns the next offset. 400 naming the first element or list that does not fit.
 */
export function fillExact(
  value: unknown,
  shape: readonly number[],
  dtype: TensorDtype,
  out: TypedData,
  offset: number,
  where: string,
): number {
  const path: number[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new BadRequestException(`${at(where, path)}: a list where a scalar belongs (shape ${fmt(shape)})`);
      const problem = scalarProblem(v, dtype);
      if (problem) throw new BadRequestException(`${at(where, path)}: ${problem}`);
      store(out, offset++, v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      const got = Array.isArray(v) ? `a list of ${v.length}` : describeValue(v);
      throw new BadRequestException(`${at(where, path)}: ${got} where a list of ${shape[depth]} belongs (shape ${fmt(shape)})`);
    }
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      walk(v[i], depth + 1);
      path.pop();
    }
  };
  walk(value, 0);
  return offset;
}

/** Number of scalars in a nested JSON array (any nesting). */
export function leafCount(value: unknown): number {
  if (!Array.isArray(value)) return 1;
  let n = 0;
  for (const v of value) n += Array.isArray(v) ? leafCount(v) : 1;
  return n;
}

/**
 * Typed data → nested JSON arrays of `shape` for the serving JSON writer: the innermost lists are
 * views of the typed data (so the writer prints float32 as float32), a float32 scalar is a
 * Float32Value; bool → true/false.
 */
export function nest(data: TypedData, shape: readonly number[], dtype: TensorDtype, offset = 0, b64 = false): unknown {
  if (Array.isArray(data)) {
    return nestList(
      data.slice(offset, offset + elementCount(shape)).map((b) => stringElement(b, b64)),
      shape,
    );
  }
  const scalar = (i: number): number | boolean | Float32Value =>
    dtype === 'bool' ? data[i] !== 0 : dtype === 'float32' ? new Float32Value(data[i]!) : data[i]!;
  if (shape.length === 0) return scalar(offset);
  const build = (depth: number, start: number): unknown => {
    const n = shape[depth]!;
    if (depth === shape.length - 1) {
      if (dtype !== 'bool') return data.subarray(start, start + n);
      const row = new Array<boolean>(n);
      for (let i = 0; i < n; i++) row[i] = data[start + i] !== 0;
      return row;
    }
    const stride = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, i) => build(depth + 1, start + i * stride));
  };
  return build(0, offset);
}

/** A flat list → nested lists of `shape` (a scalar for shape []). */
function nestList(values: unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  const build = (depth: number, start: number): unknown[] => {
    const n = shape[depth]!;
    if (depth === shape.length - 1) return values.slice(start, start + n);
    const stride = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, i) => build(depth + 1, start + i * stride));
  };
  return build(0, 0);
}

/** Typed data → a flat list for the serving JSON writer: the typed array itself (bool → true/false). */
export function flat(data: TypedData, dtype: TensorDtype): boolean[] | string[] | Float32Array | Int32Array | Float64Array {
  if (Array.isArray(data)) return data.map((b) => stringElement(b, false) as string);
  if (dtype === 'bool') return Array.from(data, (v) => v !== 0);
  return data as Float32Array | Int32Array | Float64Array;
}

export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
