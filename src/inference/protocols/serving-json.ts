/**
 * The serving protocols' JSON writer, shared by TensorFlow Serving REST (/v1) and the Open Inference
 * Protocol (/v2). It writes what JSON.stringify writes for plain values, except numbers:
 *
 *  - float32 tensors print as the shortest decimal that reads back to the same float32, as TF
 *    Serving does (`2.05`, where printing the float as a float64 gives `2.049999952316284`), and
 *    whole numbers keep a `.0` (`3.0`), as TF Serving and Triton (rapidjson) write them;
 *  - NaN, Infinity and -Infinity are written as those bare tokens, which TF Serving writes and reads
 *    (json_tensor.cc) and Triton writes and reads (rapidjson's kWriteNanAndInfFlag /
 *    kParseNanAndInfFlag); JSON.stringify would write `null`, which reads back as no number at all.
 *
 * The dtype travels with the data: codecs hand tensors over as typed arrays (a `Float32Array` row
 * prints as float32, an `Int32Array` as integers) and a float32 scalar as a `Float32Value`. A plain
 * JS number prints as JSON.stringify prints it (shortest float64), non-finite ones as tokens.
 *
 * Why hand-written: no JSON library on npm prints float32 values by their float32 precision or
 * writes NaN/Infinity tokens (json5 writes them, but quotes keys its own way and prints float64).
 */

/** A float32 scalar (a rank-0 float32 output, a classify score, a regress value). */
export class Float32Value {
  constructor(readonly value: number) {}
}

const ONLY_DIGITS = /^-?\d+$/;

/** A non-finite number as TF Serving and Triton write it. */
function nonFinite(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/**
 * The shortest decimal that reads back (rounded to float32) to the same float32, with `.0` on
 * whole numbers. The round-trip property is monotone in the number of significant digits (the
 * nearest p+1-digit decimal is at least as near as the nearest p-digit one), so a binary search over
 * 1..9 digits finds the shortest; 9 digits always round-trip a float32.
 */
export function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return nonFinite(value);
  const f = Math.fround(value);
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(f.toPrecision(mid))) === f) hi = mid;
    else lo = mid + 1;
  }
  // Number(...) then String(...) drops trailing zeros and picks JS's plain/exponent notation.
  const text = String(Number(f.toPrecision(lo)));
  return ONLY_DIGITS.test(text) ? `${text}.0` : text;
}

/** A float64 number: JSON.stringify's text, tokens for non-finite values. */
export function formatNumber(value: number): string {
  return Number.isFinite(value) ? JSON.stringify(value) : nonFinite(value);
}

type NumberArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

function isNumberArray(value: object): value is NumberArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) && !Buffer.isBuffer(value) && !isBigIntArray(value);
}

function isBigIntArray(value: ArrayBufferView): boolean {
  return value instanceof BigInt64Array || value instanceof BigUint64Array;
}

function writeNumberArray(a: NumberArray, out: string[]): void {
  const format = a instanceof Float32Array ? formatFloat32 : formatNumber;
  out.push('[');
  for (let i = 0; i < a.length; i++) {
    if (i > 0) out.push(',');
    out.push(format(a[i]!));
  }
  out.push(']');
}

/** Writes `value` into `out`; false when it has no JSON text (undefined, functions, symbols), as JSON.stringify skips them. */
function write(value: unknown, out: string[]): boolean {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return true;
    case 'number':
      out.push(formatNumber(value));
      return true;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return true;
    case 'bigint':
      out.push(value.toString());
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) {
    out.push('null');
    return true;
  }
  if (value instanceof Float32Value) {
    out.push(formatFloat32(value.value));
    return true;
  }
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((v, i) => {
      if (i > 0) out.push(',');
      if (!write(v, out)) out.push('null');
    });
    out.push(']');
    return true;
  }
  if (isNumberArray(value)) {
    writeNumberArray(value, out);
    return true;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write((toJSON as () => unknown).call(value), out);
  out.push('{');
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    const mark = out.length;
    out.push(first ? '' : ',', JSON.stringify(k), ':');
    if (write(v, out)) first = false;
    else out.length = mark;
  }
  out.push('}');
  return true;
}

/** The JSON text of a serving response (see the file comment for how numbers are printed). */
export function writeServingJson(value: unknown): string {
  const out: string[] = [];
  return write(value, out) ? out.join('') : 'null';
}
