import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import type { InferenceResult, ServedModel } from '../runtime/served-model';
import { writeServingJson } from './serving-json';
import { inferResponse, modelMetadata, parseInferRequest, parseVersionSegment, serverMetadata } from './open-inference';
import { oipSchemaErrors } from '../../../test/support/inference/oip-schema';

const model: ServedModel = {
  name: 'm',
  version: 3,
  versionId: 'v3',
  source: 'imported',
  format: 'graph-model',
  engine: 'tfjs',
  platform: 'tensorflowjs_graph',
  task: null,
  inputs: [
    { name: 'x', dtype: 'float32', shape: [-1, 2] },
    { name: 'k', dtype: 'int32', shape: [-1] },
    { name: 'flag', dtype: 'bool', shape: [-1] },
  ],
  outputs: [
    { name: 'y', dtype: 'float32', shape: [-1, 1] },
    { name: 'z', dtype: 'int32', shape: [-1] },
  ],
  features: null,
  preprocessing: null,
  target: null,
};

function badRequest(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadRequestException, `not a 400: ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

const x = (over: object = {}) => ({ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4], ...over });

describe('OIP v2 codec: inference requests', () => {
  it('reads flat and nested data row-major into the dtype the signature needs', () => {
    const flat = parseInferRequest({ inputs: [x()] }, model);
    const nested = parseInferRequest(
      {
        inputs: [
          x({
            data: [
              [1, 2],
              [3, 4],
            ],
          }),
        ],
      },
      model,
    );
    for (const r of [flat, nested]) {
      assert.equal(r.inputs.length, 1);
      assert.deepEqual(r.inputs[0]!.shape, [2, 2]);
      assert.equal(r.inputs[0]!.dtype, 'float32');
      assert.ok(r.inputs[0]!.data instanceof Float32Array);
      assert.deepEqual(Array.from(r.inputs[0]!.data), [1, 2, 3, 4]);
    }
    const ints = parseInferRequest({ inputs: [{ name: 'k', shape: [3], datatype: 'INT64', data: [1, -2, 3] }] }, model);
    assert.ok(ints.inputs[0]!.data instanceof Int32Array);
    assert.deepEqual(Array.from(ints.inputs[0]!.data), [1, -2, 3]);
    const fromInt = parseInferRequest({ inputs: [x({ datatype: 'UINT8', data: [0, 255, 7, 9] })] }, model);
    assert.deepEqual(Array.from(fromInt.inputs[0]!.data as Int32Array), [0, 255, 7, 9]);
    assert.equal(fromInt.inputs[0]!.dtype, 'float32');
    const bools = parseInferRequest({ inputs: [{ name: 'flag', shape: [2], datatype: 'BOOL', data: [true, false] }] }, model);
    assert.equal(bools.inputs[0]!.dtype, 'bool');
    assert.deepEqual(Array.from(bools.inputs[0]!.data as Uint8Array), [1, 0]);
  });

  it('checks the element count against the shape (400 naming the input)', () => {
    badRequest(
      () => parseInferRequest({ inputs: [x({ data: [1, 2, 3] })] }, model),
      /^inputs\[0\]\.data: 3 elements for shape \[2, 2\], which needs 4$/,
    );
    badRequest(
      () =>
        parseInferRequest(
          {
            inputs: [
              x({
                data: [
                  [1, 2],
                  [3, 4],
                  [5, 6],
                ],
              }),
            ],
          },
          model,
        ),
      /6 elements for shape \[2, 2\]/,
    );
    badRequest(() => parseInferRequest({ inputs: [x({ shape: [2, 3] })] }, model), /4 elements for shape \[2, 3\], which needs 6/);
  });

  it('refuses bad shapes and structure', () => {
    badRequest(
      () => parseInferRequest({ inputs: [x({ shape: [2, -1] })] }, model),
      /^inputs\[0\]\.shape: must be a list of non-negative integers$/,
    );
    badRequest(() => parseInferRequest({ inputs: [x({ shape: [2.5, 2] })] }, model), /inputs\[0\]\.shape/);
    badRequest(() => parseInferRequest({ inputs: [x({ shape: '2,2' })] }, model), /inputs\[0\]\.shape/);
    badRequest(() => parseInferRequest({ inputs: [x({ data: 'abc' })] }, model), /^inputs\[0\]\.data: must be a list/);
    badRequest(() => parseInferRequest({ inputs: [x({ name: '' })] }, model), /^inputs\[0\]\.name/);
    badRequest(() => parseInferRequest({ inputs: [] }, model), /^inputs: must be a non-empty list/);
    badRequest(() => parseInferRequest({}, model), /^inputs:/);
    badRequest(() => parseInferRequest([x()], model), /^body: must be a JSON object/);
    badRequest(() => parseInferRequest({ inputs: [x(), x()] }, model), /^inputs\[1\]\.name: 'x' is given twice$/);
    badRequest(() => parseInferRequest({ id: 42, inputs: [x()] }, model), /^id: must be a string$/);
    badRequest(() => parseInferRequest({ parameters: [], inputs: [x()] }, model), /^parameters: must be an object$/);
  });

  it('refuses FP16 and BF16 as JSON, and BYTES naming the input', () => {
    badRequest(
      () => parseInferRequest({ inputs: [x({ datatype: 'FP16' })] }, model),
      /^inputs\[0\]\.datatype: FP16 cannot be sent as JSON numbers/,
    );
    badRequest(() => parseInferRequest({ inputs: [x({ datatype: 'BF16' })] }, model), /BF16 cannot be sent as JSON/);
    badRequest(
      () => parseInferRequest({ inputs: [x({ datatype: 'BYTES', data: ['a', 'b', 'c', 'd'] })] }, model),
      /^inputs\[0\]\.datatype: BYTES needs a string tensor; input 'x' is FP32/,
    );
    badRequest(() => parseInferRequest({ inputs: [x({ datatype: 'FLOAT' })] }, model), /^inputs\[0\]\.datatype: "FLOAT" is not a datatype/);
  });

  it('checks every element against the datatype and the signature dtype, naming its position', () => {
    badRequest(
      () =>
        parseInferRequest(
          {
            inputs: [
              x({
                data: [
                  [1, 2],
                  [3, 'four'],
                ],
              }),
            ],
          },
          model,
        ),
      /^inputs\[0\]\.data\[1\]\[1\]: the string "four" is not a number \(datatype FP32\)$/,
    );
    // a flat FP32 list (read without the nested walk): a finite value past float32 is refused, NaN and ±Infinity kept
    badRequest(
      () => parseInferRequest({ inputs: [x({ data: [1, 2, 1e39, 4] })] }, model),
      /^inputs\[0\]\.data\[2\]: 1e\+39 is out of the FP32 range$/,
    );
    badRequest(
      () => parseInferRequest({ inputs: [x({ data: [1, null, 3, 4] })] }, model),
      /^inputs\[0\]\.data\[1\]: null is not a number \(datatype FP32\)$/,
    );
    const tokens = parseInferRequest({ inputs: [x({ data: [NaN, Infinity, -Infinity, 3.4028234663852886e38] })] }, model);
    assert.deepEqual(Array.from(tokens.inputs[0]!.data as Float32Array), [NaN, Infinity, -Infinity, 3.4028234663852886e38]);
    badRequest(
      () => parseInferRequest({ inputs: [x({ datatype: 'UINT8', data: [1, 2, 3, 256] })] }, model),
      /^inputs\[0\]\.data\[3\]: 256 is not a valid UINT8$/,
    );
    badRequest(
      () => parseInferRequest({ inputs: [x({ datatype: 'INT32', data: [1, 2, 3, 1.5] })] }, model),
      /data\[3\]: 1\.5 is not a valid INT32/,
    );
    badRequest(
      () => parseInferRequest({ inputs: [{ name: 'k', shape: [1], datatype: 'FP32', data: [1.5] }] }, model),
      /data\[0\]: 1\.5 is not a 32-bit integer \(the input is int32\)/,
    );
    badRequest(
      () => parseInferRequest({ inputs: [{ name: 'k', shape: [1], datatype: 'INT64', data: [2 ** 40] }] }, model),
      /is not a 32-bit integer/,
    );
    badRequest(
      () => parseInferRequest({ inputs: [{ name: 'flag', shape: [1], datatype: 'INT8', data: [1] }] }, model),
      /^inputs\[0\]\.datatype: input 'flag' is BOOL; INT8 data cannot be converted/,
    );
    badRequest(
      () => parseInferRequest({ inputs: [x({ datatype: 'BOOL', data: [true, true, true, true] })] }, model),
      /input 'x' is FP32; BOOL data cannot be converted/,
    );
    badRequest(
      () => parseInferRequest({ inputs: [{ name: 'flag', shape: [1], datatype: 'BOOL', data: [1] }] }, model),
      /data\[0\]: 1 is not a boolean/,
    );
  });

  it("names shapes past 64 bits in Triton's words (http_test.py test_buffer_size_overflow)", () => {
    const input = (shape: number[]) => ({ inputs: [{ name: 'x', shape, datatype: 'FP32', data: [1] }] });
    badRequest(
      () => parseInferRequest(input([2 ** 4, 2 ** 60 + 2]), model),
      /^inputs\[0\]\.shape: input 'x' shape \[16, 1152921504606847000\] causes total element count to exceed maximum size of 18446744073709551615$/,
    );
    badRequest(() => parseInferRequest(input([2 ** 2, 2 ** 60 + 2]), model), /^inputs\[0\]\.shape: byte size overflow for input 'x'$/);
    badRequest(() => parseInferRequest(input([2 ** 60]), model), /^inputs\[0\]\.shape: must be a list of non-negative integers/);
  });

  it('leaves the binary tensor extension to its codec: its parameters pass, an input still needs data once decoded', () => {
    badRequest(
      () => parseInferRequest({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, model),
      /^inputs\[0\]\.data: must be a list/,
    );
    const r = parseInferRequest(
      { inputs: [x()], parameters: { binary_data_output: true }, outputs: [{ name: 'y', parameters: { binary_data: true } }] },
      model,
    );
    assert.deepEqual(r.outputs, ['y']);
  });

  it('reads the outputs filter and refuses unknown output names', () => {
    const r = parseInferRequest({ id: 'req-1', inputs: [x()], outputs: [{ name: 'z' }] }, model);
    assert.equal(r.id, 'req-1');
    assert.deepEqual(r.outputs, ['z']);
    assert.equal(parseInferRequest({ inputs: [x()] }, model).outputs, undefined);
    badRequest(
      () => parseInferRequest({ inputs: [x()], outputs: [{ name: 'nope' }] }, model),
      /^outputs\[0\]\.name: 'nope' is not an output of model 'm' \(outputs: y, z\)$/,
    );
    badRequest(() => parseInferRequest({ inputs: [x()], outputs: ['y'] }, model), /^outputs\[0\]\.name: must be a string$/);
  });

  it('passes an input the signature lacks through with its natural dtype (the runtime names it)', () => {
    const r = parseInferRequest({ inputs: [{ name: 'other', shape: [1], datatype: 'INT16', data: [5] }] }, model);
    assert.equal(r.inputs[0]!.dtype, 'int32');
  });
});

/** What the client reads: the response as the serving JSON writer prints it, parsed. */
const wire = (value: unknown): unknown => JSON.parse(writeServingJson(value));

describe('OIP v2 codec: responses', () => {
  const result: InferenceResult = {
    model,
    canary: false,
    outputs: [
      { name: 'y', dtype: 'float32', shape: [2, 1], data: new Float32Array([0.5, 0.25]) },
      { name: 'z', dtype: 'int32', shape: [2], data: new Int32Array([1, 0]) },
    ],
  };

  it('builds a schema-valid inference response, echoing the id, data flat', () => {
    const body = wire(inferResponse(result, { id: 'abc' }));
    assert.deepEqual(body, {
      model_name: 'm',
      model_version: '3',
      id: 'abc',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [2, 1], data: [0.5, 0.25] },
        { name: 'z', datatype: 'INT32', shape: [2], data: [1, 0] },
      ],
    });
    assert.deepEqual(oipSchemaErrors('inference_response', body), []);
    assert.equal('id' in inferResponse(result), false, 'no id when the request had none');
  });

  it('applies the outputs filter and renders bool tensors as booleans', () => {
    const filtered = inferResponse(result, { outputs: ['z'] });
    assert.deepEqual(
      filtered.outputs.map((o) => o.name),
      ['z'],
    );
    const withBool = inferResponse({ ...result, outputs: [{ name: 'b', dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) }] });
    assert.deepEqual(wire(withBool.outputs[0]), { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] });
    assert.deepEqual(oipSchemaErrors('inference_response', withBool), []);
  });

  it('builds schema-valid model metadata with -1 for variable dimensions and the TF.js platform', () => {
    const body = modelMetadata(model, [1, 3]);
    assert.deepEqual(body, {
      name: 'm',
      versions: ['1', '3'],
      platform: 'tensorflowjs_graph',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [-1, 2] },
        { name: 'k', datatype: 'INT32', shape: [-1] },
        { name: 'flag', datatype: 'BOOL', shape: [-1] },
      ],
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [-1, 1] },
        { name: 'z', datatype: 'INT32', shape: [-1] },
      ],
    });
    assert.deepEqual(oipSchemaErrors('metadata_model_response', body), []);
  });

  it('builds schema-valid server metadata', () => {
    const body = serverMetadata('1.2.3');
    assert.deepEqual(body, {
      name: 'kiln',
      version: '1.2.3',
      extensions: ['binary_tensor_data', 'model_repository', 'model_configuration', 'statistics', 'system_shared_memory', 'trace'],
    });
    assert.deepEqual(oipSchemaErrors('metadata_server_response', body), []);
  });

  it('the schema check itself rejects a malformed response', () => {
    assert.notDeepEqual(oipSchemaErrors('inference_response', { model_name: 'm', outputs: [{ name: 'y', shape: [1], data: [1] }] }), []);
    assert.notDeepEqual(oipSchemaErrors('metadata_server_response', { name: 'kiln', version: '1' }), []);
  });
});

describe('OIP v2 codec: version segment', () => {
  it('takes positive integers; anything else is an unknown version (404)', () => {
    assert.deepEqual(parseVersionSegment('m', undefined), {});
    assert.deepEqual(parseVersionSegment('m', '12'), { version: 12 });
    for (const v of ['0', 'abc', '-1', '1.5', '01']) assert.throws(() => parseVersionSegment('m', v), NotFoundException);
  });
});
