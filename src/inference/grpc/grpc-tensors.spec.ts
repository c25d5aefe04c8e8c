import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grpcInferResponse, inferBodyFromGrpc, type GrpcInferRequest } from './grpc-tensors';
import { decodeRawTensor } from '../protocols/binary-tensors';
import { parseInferRequest } from '../protocols/open-inference';
import type { InferenceResult, ServedModel } from '../runtime/served-model';

const request = (over: Partial<GrpcInferRequest>): GrpcInferRequest => ({
  model_name: 'm',
  model_version: '',
  id: '',
  inputs: [],
  outputs: [],
  raw_input_contents: [],
  ...over,
});

describe('OIP gRPC tensor codec', () => {
  it('typed contents → the REST body: the field of the datatype, parameters unwrapped, BYTES kept as bytes', () => {
    const { body, raw } = inferBodyFromGrpc(
      request({
        id: 'r1',
        parameters: { priority: { parameter_choice: 'int64_param', int64_param: 2 } },
        inputs: [
          { name: 'a', datatype: 'INT8', shape: [2], contents: { int_contents: [1, -2] } },
          { name: 'b', datatype: 'BOOL', shape: [1], contents: { bool_contents: [true] } },
          { name: 'c', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('hé')] } },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: { parameter_choice: 'bool_param', bool_param: false } } }],
      }),
    );
    assert.equal(raw, false);
    assert.deepEqual(body, {
      id: 'r1',
      parameters: { priority: 2 },
      inputs: [
        { name: 'a', datatype: 'INT8', shape: [2], data: [1, -2] },
        { name: 'b', datatype: 'BOOL', shape: [1], data: [true] },
        { name: 'c', datatype: 'BYTES', shape: [1], data: [Buffer.from('hé')] },
      ],
      outputs: [{ name: 'y', parameters: { binary_data: false } }],
    });
  });

  it('raw contents: little-endian per datatype, FP16/BF16 widened to FP32, sizes and 64-bit ranges checked', () => {
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-5n, 0);
    i64.writeBigInt64LE(BigInt(Number.MAX_SAFE_INTEGER), 8);
    const bf16 = Buffer.from([0x80, 0x3f]); // 1.0 = 0x3f80
    const { body, raw } = inferBodyFromGrpc(
      request({
        inputs: [
          { name: 'a', datatype: 'INT64', shape: [2] },
          { name: 'b', datatype: 'BF16', shape: [1] },
          { name: 'c', datatype: 'UINT16', shape: [1] },
        ],
        raw_input_contents: [i64, bf16, Buffer.from([0x34, 0x12])],
      }),
    );
    assert.equal(raw, true);
    assert.deepEqual(
      (body.inputs as Array<{ datatype: string; data: ArrayLike<unknown> }>).map((t) => [t.datatype, Array.from(t.data)]),
      [
        ['INT64', [-5, Number.MAX_SAFE_INTEGER]],
        ['FP32', [1]],
        ['UINT16', [0x1234]],
      ],
    );
    const big = Buffer.alloc(8);
    big.writeBigUInt64LE(2n ** 60n);
    assert.throws(
      () => inferBodyFromGrpc(request({ inputs: [{ name: 'a', datatype: 'UINT64', shape: [1] }], raw_input_contents: [big] })),
      /raw_input_contents\[0\]\[0\]: 1152921504606846976 is beyond what Kiln reads exactly as UINT64 \(±2\^53\)/,
    );
    assert.throws(
      () =>
        inferBodyFromGrpc(
          request({
            inputs: [
              { name: 'a', datatype: 'FP32', shape: [1] },
              { name: 'b', datatype: 'FP32', shape: [1] },
            ],
            raw_input_contents: [Buffer.alloc(4)],
          }),
        ),
      /raw_input_contents: 1 entries for 2 inputs/,
    );
    assert.throws(
      () =>
        inferBodyFromGrpc(
          request({
            inputs: [{ name: 'a', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }],
            raw_input_contents: [Buffer.alloc(4)],
          }),
        ),
      /inputs\[0\]\.contents: must be empty when raw_input_contents is used/,
    );
  });

  it('raw BOOL (one byte each, non-zero true) and FP16 (every bit pattern) read as the element-by-element decode reads them', () => {
    const fp16 = Buffer.from(Uint16Array.from({ length: 65536 }, (_, h) => h).buffer);
    const bool = Buffer.from([1, 0, 2, 255]);
    const { body } = inferBodyFromGrpc(
      request({
        inputs: [
          { name: 'h', datatype: 'FP16', shape: [256, 256] },
          { name: 'b', datatype: 'BOOL', shape: [4] },
        ],
        // unaligned, as a protobuf message's bytes fields are
        raw_input_contents: [Buffer.concat([Buffer.alloc(1), fp16]).subarray(1), bool],
      }),
    );
    const [h, b] = body.inputs as Array<{ datatype: string; data: ArrayLike<number> }>;
    assert.equal(h!.datatype, 'FP32');
    assert.deepEqual(Array.from(h!.data), decodeRawTensor(fp16, 'FP16', 'x'));
    const model = {
      name: 'm',
      inputs: [
        { name: 'h', dtype: 'float32' as const, shape: [-1, 256] },
        { name: 'b', dtype: 'bool' as const, shape: [-1] },
      ],
      outputs: [],
    };
    const parsed = parseInferRequest(body, model).inputs;
    assert.deepEqual(parsed[1]!.data, new Uint8Array([1, 0, 1, 1]));
    assert.deepEqual(
      Array.from(b!.data, (v) => v !== 0),
      decodeRawTensor(bool, 'BOOL', 'x'),
    );
    assert.throws(
      () => inferBodyFromGrpc(request({ inputs: [{ name: 'b', datatype: 'BOOL', shape: [3] }], raw_input_contents: [bool] })),
      /raw_input_contents\[0\]: 4 bytes for shape \[3\] of BOOL, which needs 3/,
    );
  });

  it('answers in the form the request used: raw bytes (little-endian) or typed contents; outputs filtered, id echoed', () => {
    const model = { name: 'm', version: 3 } as ServedModel;
    const result: InferenceResult = {
      model,
      canary: false,
      outputs: [
        { name: 'p', dtype: 'float32', shape: [1, 2], data: new Float32Array([0.25, -1]) },
        { name: 'k', dtype: 'int32', shape: [1], data: new Int32Array([7]) },
        { name: 'f', dtype: 'bool', shape: [1], data: new Uint8Array([1]) },
      ],
    };
    const typed = grpcInferResponse(result, { id: 'x', outputs: ['p', 'f'] }, false);
    assert.deepEqual(typed, {
      model_name: 'm',
      model_version: '3',
      id: 'x',
      outputs: [
        { name: 'p', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [0.25, -1] } },
        { name: 'f', datatype: 'BOOL', shape: [1], contents: { bool_contents: [true] } },
      ],
      raw_output_contents: [],
    });
    const raw = grpcInferResponse(result, {}, true);
    assert.equal(raw.id, '');
    assert.deepEqual(
      raw.outputs.map((o) => o.contents),
      [undefined, undefined, undefined],
    );
    assert.deepEqual(raw.raw_output_contents[0], Buffer.from(new Float32Array([0.25, -1]).buffer));
    assert.equal(raw.raw_output_contents[1]!.readInt32LE(0), 7);
    assert.deepEqual([...raw.raw_output_contents[2]!], [1]);
    const wide = grpcInferResponse(
      {
        model,
        canary: false,
        outputs: [
          { name: 'i', dtype: 'int64', shape: [2], data: new Float64Array([-5, Number.MAX_SAFE_INTEGER]) },
          { name: 'd', dtype: 'float64', shape: [1], data: new Float64Array([0.1]) },
          { name: 's', dtype: 'string', shape: [2], data: [Buffer.from('ab'), Buffer.alloc(0)] },
        ],
      },
      {},
      true,
    );
    assert.deepEqual(wide.raw_output_contents, [
      Buffer.from(new BigInt64Array([-5n, BigInt(Number.MAX_SAFE_INTEGER)]).buffer),
      Buffer.from(new Float64Array([0.1]).buffer),
      Buffer.from([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]),
    ]);
  });
});
