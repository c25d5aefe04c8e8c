/**
 * The binary tensor extension's codec, replayed on the byte-exact cases of KServe's
 * `python/kserve/test/test_server.py` (test_fp16_input_as_binary_data, test_all_output_as_binary_data,
 * test_binary_data_parameter_precedence) and on tritonclient's encodings (BOOL one byte, BYTES
 * length-prefixed, BF16 the upper half of a float32). Expected values are written down from those files.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException } from '@nestjs/common';
import type { HostTensor, TensorDtype } from '../runtime/served-model';
import {
  ELEMENT_BYTES,
  binaryInferResponse,
  binaryOutputChoice,
  decodeRawNumbers,
  decodeRawTensor,
  inlineBinaryInputs,
  RAW_BYTES,
  rawBinaryRequest,
  tensorBytes,
} from './binary-tensors';
import { parseInferRequest } from './open-inference';

function badRequest(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadRequestException, `not a 400: ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** KServe test_server.py: np.array([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]], dtype=np.float16).tobytes() */
const KSERVE_FP16_BYTES = Buffer.from('\xcdF\x9aA\xcdD\x9a=\x00F\xcdB\x80Df>', 'latin1');
/** …and the same values as float32 (the tail of test_all_output_as_binary_data's golden body). */
const KSERVE_FP32_BYTES = Buffer.from('\x9a\x99\xd9@333@\x9a\x99\x99@33\xb3?\x00\x00\xc0@\x9a\x99Y@\x00\x00\x90@\xcd\xcc\xcc?', 'latin1');
const KSERVE_FP32_JSON = [
  6.800000190734863, 2.799999952316284, 4.800000190734863, 1.399999976158142, 6.0, 3.4000000953674316, 4.5, 1.600000023841858,
];

type Inlined = { inputs: Array<{ name: string; datatype: string; shape: number[]; data: ArrayLike<unknown>; parameters: object }> };
/** An inlined input's values (number datatypes decode to a typed array). */
const values = (data: ArrayLike<unknown>) => Array.from(data);

/** The message of the 400 `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BadRequestException, `not a 400: ${String(err)}`);
    return err.message;
  }
  return 'no error';
}

/** A seeded PRNG (mulberry32): the random cases are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A one-input signature of `dtype` (any shape) for the codec comparisons below. */
const spec = (dtype: TensorDtype) => ({
  name: 'm',
  inputs: [{ name: 'x', dtype, shape: [-1] }],
  outputs: [{ name: 'y', dtype: 'float32' as const, shape: [-1] }],
});

/** What the codec made of a request: the input tensor's dtype, shape, array type and values, or its 400. */
function outcome(f: () => ReturnType<typeof parseInferRequest>) {
  try {
    const t = f().inputs[0]!;
    return { dtype: t.dtype, shape: t.shape, type: t.data.constructor.name, data: Array.from(t.data as Float32Array) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('binary tensor extension: inputs', () => {
  it('decodes FP16 binary input to the FP32 values it denotes (KServe test_fp16_input_as_binary_data)', () => {
    const body = { inputs: [{ name: 'fp16_input', shape: [2, 4], datatype: 'FP16', parameters: { binary_data_size: 16 } }] };
    const out = inlineBinaryInputs(body, KSERVE_FP16_BYTES, 'm') as Inlined;
    // KServe's expected fp32_output of that test: the float16 values widened.
    assert.deepEqual(values(out.inputs[0]!.data), [6.80078125, 2.80078125, 4.80078125, 1.400390625, 6.0, 3.400390625, 4.5, 1.599609375]);
    assert.equal(out.inputs[0]!.datatype, 'FP32');
    assert.deepEqual(out.inputs[0]!.parameters, {});
  });

  it('decodes FP32, INT32 (tritonclient simple_http_infer_client INPUT1), BOOL, INT64 and BF16 in input order', () => {
    const int32 = Buffer.from(new Int32Array([1, -2, 3, 2147483647]).buffer);
    const bool = Buffer.from([1, 0, 2]);
    const int64 = Buffer.from(new BigInt64Array([-5n, 9007199254740991n]).buffer);
    // bfloat16 of 1.5 is 0x3FC0, of -2 is 0xC000 (upper halves of the float32 bits)
    const bf16 = Buffer.from([0xc0, 0x3f, 0x00, 0xc0]);
    const body = {
      inputs: [
        { name: 'a', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } },
        { name: 'b', shape: [1, 4], datatype: 'INT32', parameters: { binary_data_size: 16 } },
        { name: 'json', shape: [1], datatype: 'INT32', data: [7] },
        { name: 'c', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
        { name: 'd', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
        { name: 'e', shape: [2], datatype: 'BF16', parameters: { binary_data_size: 4 } },
      ],
    };
    const out = inlineBinaryInputs(body, Buffer.concat([KSERVE_FP32_BYTES, int32, bool, int64, bf16]), 'm') as Inlined;
    assert.deepEqual(values(out.inputs[0]!.data), KSERVE_FP32_JSON);
    assert.ok(out.inputs[0]!.data instanceof Float32Array, 'FP32 decodes to a Float32Array (one copy of the bytes)');
    assert.deepEqual(values(out.inputs[1]!.data), [1, -2, 3, 2147483647]);
    assert.deepEqual(out.inputs[2], body.inputs[2]);
    // BOOL: the bytes (any non-zero byte is true, as the codec reads them); INT64: exact numbers
    assert.deepEqual(values(out.inputs[3]!.data), [1, 0, 2]);
    assert.deepEqual(values(out.inputs[4]!.data), [-5, 9007199254740991]);
    const model = {
      name: 'm',
      inputs: [
        { name: 'c', dtype: 'bool' as const, shape: [3] },
        { name: 'd', dtype: 'int64' as const, shape: [2] },
      ],
      outputs: [],
    };
    const parsed = parseInferRequest({ inputs: out.inputs.slice(3, 5) }, model).inputs;
    assert.deepEqual(parsed[0]!.data, new Uint8Array([1, 0, 1]));
    assert.deepEqual(parsed[1]!.data, new Float64Array([-5, 9007199254740991]));
    assert.deepEqual(values(out.inputs[5]!.data), [1.5, -2]);
    assert.equal(out.inputs[5]!.datatype, 'FP32');
  });

  it('decodes BYTES elements (4-byte little-endian length, then the bytes), as tritonclient serializes them', () => {
    const el = (s: string) => {
      const b = Buffer.from(s);
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b.length);
      return Buffer.concat([n, b]);
    };
    const bytes = Buffer.concat([el('cat'), el(''), el('dög')]);
    const out = inlineBinaryInputs(
      { inputs: [{ name: 's', shape: [3], datatype: 'BYTES', parameters: { binary_data_size: bytes.length } }] },
      bytes,
      'm',
    ) as Inlined;
    assert.deepEqual(
      (out.inputs[0]!.data as Buffer[]).map((b) => b.toString('utf8')),
      ['cat', '', 'dög'],
    );
    badRequest(
      () =>
        inlineBinaryInputs(
          { inputs: [{ name: 's', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 6 } }] },
          el('cat').subarray(0, 6),
          'm',
        ),
      /^inputs\[0\]\.data\[0\]: BYTES element of 3 bytes runs past/,
    );
  });

  it('refuses what Triton refuses, naming the field: data and binary both, sizes that do not fit, leftovers, no header', () => {
    const fp32 = (size: unknown, extra: object = {}) => ({
      inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: size }, ...extra }],
    });
    badRequest(
      () => inlineBinaryInputs(fp32(8, { data: [1, 2] }), Buffer.alloc(8), 'm'),
      /^inputs\[0\]: Input must set only one of the following fields/,
    );
    badRequest(
      () => inlineBinaryInputs(fp32(8), undefined, 'm'),
      /^inputs\[0\]\.parameters\.binary_data_size: must specify valid 'Inference-Header-Content-Length'/,
    );
    badRequest(() => inlineBinaryInputs(fp32(12), Buffer.alloc(12), 'm'), /unexpected total byte size 12 for input 'x', expecting 8/);
    badRequest(
      () => inlineBinaryInputs(fp32(8), Buffer.alloc(4), 'm'),
      /^inputs\[0\]\.parameters\.binary_data_size: 8 bytes from offset 0 run past the binary data \(4 bytes/,
    );
    badRequest(() => inlineBinaryInputs(fp32(8), Buffer.alloc(12), 'm'), /^body: unexpected additional input data for model 'm'/);
    badRequest(
      () => inlineBinaryInputs(fp32(-1), Buffer.alloc(8), 'm'),
      /^inputs\[0\]\.parameters\.binary_data_size: must be a non-negative integer/,
    );
    badRequest(() => inlineBinaryInputs(fp32('8'), Buffer.alloc(8), 'm'), /binary_data_size: must be a non-negative integer/);
    badRequest(
      () =>
        inlineBinaryInputs(
          { inputs: [{ name: 'x', shape: [1], datatype: 'INT64', parameters: { binary_data_size: 8 } }] },
          Buffer.from(new BigInt64Array([2n ** 60n]).buffer),
          'm',
        ),
      /^inputs\[0\]\.data\[0\]: 1152921504606846976 is beyond/,
    );
  });

  it('refuses a byte count that is no whole number of elements, whatever the shape says (it was a RangeError: a 500)', () => {
    // With a shape the size check cannot use (malformed, missing), the bytes alone decide the element count.
    for (const [datatype, width] of Object.entries(ELEMENT_BYTES).filter(([, w]) => w > 1)) {
      for (const shape of ['x', undefined, [1.5]]) {
        badRequest(
          () => inlineBinaryInputs({ inputs: [{ name: 'x', shape, datatype, parameters: { binary_data_size: 3 } }] }, Buffer.alloc(3), 'm'),
          new RegExp(
            `^inputs\\[0\\]\\.parameters\\.binary_data_size: 3 bytes are not a whole number of ${datatype} elements \\(${width} bytes`,
          ),
        );
      }
    }
  });

  it('reads a binary input into the same tensor (or the same 400) as its values sent as JSON, for every number datatype and dtype', () => {
    // Bytes chosen to reach each datatype's edges: NaN, ±Infinity, -0, values past int32 (UINT32), past float32 (FP64).
    const bytes = Buffer.from(
      new Float64Array([1.5, -0, NaN, Infinity, -Infinity, 3e38, 1e39, -2147483649, 4294967295, 7, 0.1, -1e-45]).buffer,
    );
    // the fixed-size number datatypes (BOOL is not a number; 64-bit integers read as exact integers elsewhere)
    const widths = Object.entries(ELEMENT_BYTES).filter(([datatype]) => !['BOOL', 'UINT64', 'INT64'].includes(datatype));
    let refusals = 0;
    for (const [datatype, width] of widths) {
      const raw = bytes.subarray(0, Math.floor(bytes.length / width) * width);
      const n = raw.length / width;
      for (const dtype of ['float32', 'int32', 'int64', 'float64'] as const) {
        const model = spec(dtype);
        const binary = outcome(() =>
          parseInferRequest(
            inlineBinaryInputs({ inputs: [{ name: 'x', shape: [n], datatype, parameters: { binary_data_size: raw.length } }] }, raw, 'm'),
            model,
          ),
        );
        const values = decodeRawTensor(raw, datatype, 'x');
        const widened = datatype === 'FP16' || datatype === 'BF16' ? 'FP32' : datatype;
        const json = outcome(() => parseInferRequest({ inputs: [{ name: 'x', shape: [n], datatype: widened, data: values }] }, model));
        // The JSON form may be refused where binary is not only for values JSON cannot carry (none here: NaN etc. are numbers).
        assert.deepEqual(binary, json, `${datatype} → ${dtype}`);
        if ('error' in binary) refusals++;
      }
    }
    assert.ok(refusals > 0, 'some conversions are refused (e.g. fractions into int32), and with the same message');
  });

  it('decodes each fixed-size datatype at once into what the element-by-element decode reads (random bytes, all FP16 patterns)', () => {
    const random = seeded(7);
    const bytesOf = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const every16 = Buffer.from(Uint16Array.from({ length: 65536 }, (_, h) => h).buffer);
    // unaligned on purpose: a body's bytes start anywhere
    const unaligned = (b: Buffer) => Buffer.concat([Buffer.alloc(1), b]).subarray(1);
    for (const [datatype, width] of Object.entries(ELEMENT_BYTES)) {
      // a view of aligned bytes, a copy of unaligned ones
      const samples = [bytesOf(width * 4096), unaligned(bytesOf(width * 4096))];
      if (width === 2) samples.push(every16, unaligned(every16));
      if (datatype === 'INT64' || datatype === 'UINT64') samples.length = 0; // random bytes are mostly past ±2^53 (below)
      for (const raw of samples) {
        const typed = decodeRawNumbers(raw, datatype, 'x')!;
        const reference = decodeRawTensor(raw, datatype, 'x');
        const expected = datatype === 'BOOL' ? reference.map((v) => (v ? 1 : 0)) : reference;
        assert.deepEqual(datatype === 'BOOL' ? Array.from(typed, (v) => (v !== 0 ? 1 : 0)) : Array.from(typed), expected, datatype);
      }
    }
    // INT64 / UINT64: random integers within ±2^53, the edges, and the first value past them (same 400 as before)
    const edges = [0n, 1n, -1n, 2n ** 32n, -(2n ** 32n), 2n ** 53n - 1n, -(2n ** 53n - 1n), 2n ** 52n + 3n, -(2n ** 52n) - 3n];
    const ints = [...edges, ...Array.from({ length: 4096 }, () => BigInt(Math.floor((random() * 2 - 1) * Number.MAX_SAFE_INTEGER)))];
    const int64 = Buffer.from(BigInt64Array.from(ints).buffer);
    const uint64 = Buffer.from(BigUint64Array.from(ints.filter((v) => v >= 0n)).buffer);
    for (const raw of [int64, unaligned(int64)])
      assert.deepEqual(Array.from(decodeRawNumbers(raw, 'INT64', 'x')!), decodeRawTensor(raw, 'INT64', 'x'));
    for (const raw of [uint64, unaligned(uint64)]) {
      assert.deepEqual(Array.from(decodeRawNumbers(raw, 'UINT64', 'x')!), decodeRawTensor(raw, 'UINT64', 'x'));
    }
    const refusals: Array<[string, bigint]> = [
      ['INT64', 2n ** 53n],
      ['INT64', -(2n ** 53n)],
      ['INT64', 2n ** 63n - 1n],
      ['INT64', -(2n ** 63n)],
      ['INT64', -(2n ** 53n) - 2n ** 32n],
      ['UINT64', 2n ** 53n],
      ['UINT64', 2n ** 64n - 1n],
    ];
    for (const [datatype, value] of refusals) {
      const raw = Buffer.alloc(24);
      if (datatype === 'INT64') raw.writeBigInt64LE(value, 16);
      else raw.writeBigUInt64LE(value, 16);
      const message = `x[2]: ${value} is beyond what Kiln reads exactly as ${datatype} (±2^53)`;
      assert.equal(
        refusal(() => decodeRawTensor(raw, datatype, 'x')),
        message,
      );
      assert.equal(
        refusal(() => decodeRawNumbers(raw, datatype, 'x')),
        message,
      );
    }
    assert.equal(decodeRawNumbers(Buffer.from('abc'), 'BYTES', 'x'), null);
  });

  it('reads a binary input of an integer datatype or BOOL into the same tensor (or the same 400) as its values sent as JSON', () => {
    const random = seeded(11);
    const integers = ['BOOL', 'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'UINT64', 'INT64'];
    const seen = { tensors: 0, refusals: 0 };
    for (const datatype of integers) {
      const width = ELEMENT_BYTES[datatype]!;
      // small values (each fits every target) and full-width ones (some do not fit int32)
      for (const small of [true, false]) {
        const n = 64;
        const raw = Buffer.alloc(n * width);
        for (let i = 0; i < n; i++) {
          if (width === 8) {
            const v = BigInt(Math.floor(small ? random() * 100 : (random() * 2 - 1) * Number.MAX_SAFE_INTEGER));
            if (datatype === 'INT64') raw.writeBigInt64LE(v, i * 8);
            else raw.writeBigUInt64LE(v < 0n ? -v : v, i * 8);
          } else {
            for (let k = 0; k < width; k++) raw[i * width + k] = small && k > 0 ? 0 : Math.floor(random() * 256);
          }
        }
        for (const dtype of ['float32', 'int32', 'int64', 'float64', 'bool'] as const) {
          const model = spec(dtype);
          const binary = outcome(() =>
            parseInferRequest(
              inlineBinaryInputs({ inputs: [{ name: 'x', shape: [n], datatype, parameters: { binary_data_size: raw.length } }] }, raw, 'm'),
              model,
            ),
          );
          const json = outcome(() =>
            parseInferRequest({ inputs: [{ name: 'x', shape: [n], datatype, data: decodeRawTensor(raw, datatype, 'x') }] }, model),
          );
          assert.deepEqual(binary, json, `${datatype} (${small ? 'small' : 'full-width'} values) → ${dtype}`);
          seen['error' in binary ? 'refusals' : 'tensors']++;
        }
      }
    }
    assert.ok(seen.tensors > 0 && seen.refusals > 0, 'both tensors and refusals (UINT32/64-bit values into int32, numbers into bool)');
  });

  it('leaves a plain JSON body as it is', () => {
    const body = { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] };
    assert.equal(inlineBinaryInputs(body, undefined, 'm'), body);
  });
});

describe("binary tensor extension: Triton's raw binary request", () => {
  const one = (shape: number[], dtype: 'float32' | 'int32' | 'bool' | 'string' = 'float32') => ({
    name: 'm',
    inputs: [{ name: 'INPUT0', dtype, shape }],
  });

  it('deduces the one variable dimension from the byte count and asks for every output in binary', () => {
    assert.deepEqual(rawBinaryRequest(one([-1, 4]), Buffer.alloc(32)), {
      inputs: [{ name: 'INPUT0', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }],
      parameters: { binary_data_output: true },
    });
    assert.deepEqual((rawBinaryRequest(one([-1], 'bool'), Buffer.alloc(3)).inputs as Array<{ shape: number[] }>)[0]!.shape, [3]);
    assert.deepEqual((rawBinaryRequest(one([2, 2], 'int32'), Buffer.alloc(16)).inputs as Array<{ shape: number[] }>)[0]!.shape, [2, 2]);
    // http_test.py test_raw_binary: onnx_zero_1_float32 batches (max_batch_size > 0) with dims [-1]; Triton
    // deduces [1, n] (a batch of one, the variable dimension from the length)
    const shapeOf = (shape: number[], bytes: number) =>
      (rawBinaryRequest(one(shape), Buffer.alloc(bytes)).inputs as Array<{ shape: number[] }>)[0]!.shape;
    assert.deepEqual(shapeOf([-1, -1], 32), [1, 8]);
    assert.deepEqual(shapeOf([-1, 2, -1], 32), [1, 2, 4]);
    assert.deepEqual(shapeOf([3, -1], 24), [3, 2]);
  });

  it("BYTES: the whole body is the one element (http_test.py test_byte), else Triton's message (test_byte_too_many_elements)", () => {
    const r = rawBinaryRequest(one([-1], 'string'), Buffer.from('427'));
    assert.deepEqual(r.inputs, [{ name: 'INPUT0', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 7 } }]);
    assert.deepEqual(r[RAW_BYTES], Buffer.from([3, 0, 0, 0, 0x34, 0x32, 0x37]));
    // onnx_zero_1_object_1_element: batching, dims [1]
    assert.deepEqual(rawBinaryRequest(one([-1, 1], 'string'), Buffer.from('427')).inputs, [
      { name: 'INPUT0', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: 7 } },
    ]);
    // onnx_zero_1_object: batching, dims [-1]: not one element
    for (const shape of [[-1, 2], [-1, -1], [2]]) {
      badRequest(
        () => rawBinaryRequest(one(shape, 'string'), Buffer.from('427')),
        /^For BYTE datatype raw input 'INPUT0', the model must have input shape \[1\]$/,
      );
    }
  });

  it("refuses with Triton's messages (http_test.py test_multi_inputs, test_multi_variable_dimensions) and bad byte counts", () => {
    badRequest(
      () => rawBinaryRequest({ name: 'z3', inputs: [one([-1]).inputs[0]!, one([-1]).inputs[0]!, one([-1]).inputs[0]!] }, Buffer.alloc(96)),
      /^Raw request must only have 1 input \(found 1\) to be deduced but got 3 inputs in 'z3' model configuration$/,
    );
    // onnx_zero_1_float16 (batching, dims [-1, -1]): two variable dimensions besides the batch
    badRequest(
      () => rawBinaryRequest(one([-1, -1, -1]), Buffer.alloc(8)),
      /^The shape of the raw input 'INPUT0' can not be deduced because there are more than one variable-sized dimension$/,
    );
    badRequest(
      () => rawBinaryRequest(one([4, -1, -1]), Buffer.alloc(8)),
      /^The shape of the raw input 'INPUT0' can not be deduced because there are more than one variable-sized dimension$/,
    );
    badRequest(
      () => rawBinaryRequest(one([-1, 4]), Buffer.alloc(20)),
      /^body: 20 bytes are not a whole number of FP32 tensors of shape \[N, 4\]/,
    );
    badRequest(() => rawBinaryRequest(one([2, 2]), Buffer.alloc(8)), /^body: 8 bytes are not one FP32 tensor of shape \[2, 2\]/);
  });
});

describe('binary tensor extension: outputs', () => {
  const fp32: HostTensor = { name: 'fp32_output', dtype: 'float32', shape: [8], data: new Float32Array(KSERVE_FP32_JSON) };
  const int32: HostTensor = { name: 'OUTPUT0', dtype: 'int32', shape: [1, 2], data: new Int32Array([3, -1]) };
  const response = () => ({
    model_name: 'm',
    model_version: '1',
    id: '123',
    outputs: [
      { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 2], data: [3, -1] },
      { name: 'fp32_output', datatype: 'FP32', shape: [8], data: KSERVE_FP32_JSON },
    ],
  });

  it('binary_data_output: all outputs as bytes after the JSON, binary_data_size for data (KServe test_all_output_as_binary_data)', () => {
    const choice = binaryOutputChoice({ parameters: { binary_data_output: true } })!;
    const { body, headerLength } = binaryInferResponse(response(), { outputs: [int32, fp32] }, choice)!;
    const header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
    assert.deepEqual(header.outputs, [
      { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 2], parameters: { binary_data_size: 8 } },
      { name: 'fp32_output', datatype: 'FP32', shape: [8], parameters: { binary_data_size: 32 } },
    ]);
    assert.deepEqual(body.subarray(headerLength), Buffer.concat([Buffer.from([3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), KSERVE_FP32_BYTES]));
  });

  it("an output's binary_data overrides binary_data_output (KServe test_binary_data_parameter_precedence)", () => {
    const choice = binaryOutputChoice({
      parameters: { binary_data_output: true },
      outputs: [
        { name: 'OUTPUT0', parameters: { binary_data: true } },
        { name: 'fp32_output', parameters: { binary_data: false } },
      ],
    })!;
    const { body, headerLength } = binaryInferResponse(response(), { outputs: [int32, fp32] }, choice)!;
    const header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
    assert.deepEqual(header.outputs[1], { name: 'fp32_output', datatype: 'FP32', shape: [8], data: KSERVE_FP32_JSON });
    assert.equal(body.length - headerLength, 8);
    // every output overridden to JSON: a plain JSON answer
    const none = binaryOutputChoice({
      parameters: { binary_data_output: true },
      outputs: [{ name: 'fp32_output', parameters: { binary_data: false } }],
    })!;
    assert.equal(binaryInferResponse({ ...response(), outputs: [response().outputs[1]!] }, { outputs: [int32, fp32] }, none), null);
  });

  it("int64 outputs (held as float64) in binary: the 64-bit two's complement integers, as BigInt64Array writes them", () => {
    const random = seeded(5);
    const values = [
      0,
      -0,
      1,
      -1,
      2 ** 32,
      -(2 ** 32),
      2 ** 32 - 1,
      -(2 ** 32) + 1,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      2 ** 60,
      -(2 ** 63),
      2 ** 63, // past int64: wraps, as BigInt64Array does
      2 ** 64 + 2 ** 12,
      ...Array.from({ length: 4096 }, () => Math.floor((random() * 2 - 1) * Number.MAX_SAFE_INTEGER)),
    ];
    const bytes = tensorBytes({ name: 'y', dtype: 'int64', shape: [values.length], data: Float64Array.from(values) });
    assert.deepEqual(bytes, Buffer.from(BigInt64Array.from(values, (v) => BigInt(v)).buffer));
  });

  it('BYTES outputs in binary: each element a 4-byte little-endian length, then its bytes', () => {
    const text: HostTensor = { name: 'text', dtype: 'string', shape: [2], data: [Buffer.from('cat'), Buffer.from([0xff])] };
    const r = binaryInferResponse(
      { model_name: 'm', model_version: '1', outputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['cat', '\ufffd'] }] },
      { outputs: [text] },
      { all: true, byName: new Map() },
    )!;
    assert.deepEqual(r.body.subarray(r.headerLength), Buffer.from([3, 0, 0, 0, 0x63, 0x61, 0x74, 1, 0, 0, 0, 0xff]));
  });

  it('no binary requested: no binary answer; bad parameter values are 400s', () => {
    assert.equal(binaryOutputChoice({ outputs: [{ name: 'y', parameters: { binary_data: false } }] }), null);
    assert.equal(binaryOutputChoice({ parameters: { binary_data_output: false } }), null);
    badRequest(
      () => binaryOutputChoice({ parameters: { binary_data_output: 'yes' } }),
      /^parameters\.binary_data_output: must be true or false/,
    );
    badRequest(
      () => binaryOutputChoice({ outputs: [{ name: 'y', parameters: { binary_data: 1 } }] }),
      /^outputs\[0\]\.parameters\.binary_data: must be true or false/,
    );
  });
});
