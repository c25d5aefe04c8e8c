import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import type { InferenceResult, ServedModel } from '../runtime/served-model';
import {
  classifyResponse,
  explainResponse,
  modelMetadataResponse,
  modelStatusResponse,
  parseExamples,
  parsePredictRequest,
  parseTfServingPath,
  predictResponse,
  regressResponse,
} from './tf-serving';
import { signatureView } from '../runtime/signatures';
import { writeServingJson } from './serving-json';
import { JsonBodyDialects, parseJsonBody } from '../../platform/http/json-body';
import { registerServingBodyDialects } from './json-body';

const single: ServedModel = {
  name: 'm',
  version: 2,
  versionId: 'v2',
  source: 'imported',
  format: 'layers-model',
  engine: 'tfjs',
  platform: 'tensorflowjs_layers',
  task: null,
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'p', dtype: 'float32', shape: [-1, 2] }],
  features: null,
  preprocessing: null,
  target: null,
};
const multi: ServedModel = {
  ...single,
  inputs: [
    { name: 'a', dtype: 'float32', shape: [-1, 2] },
    { name: 'b', dtype: 'int32', shape: [-1] },
  ],
  outputs: [
    { name: 'p', dtype: 'float32', shape: [-1, 2] },
    { name: 'c', dtype: 'bool', shape: [-1] },
  ],
};
const trained: ServedModel = {
  ...single,
  source: 'trained',
  task: 'multiclass',
  features: [
    { name: 'len', type: 'number' },
    { name: 'island', type: 'categorical' },
  ],
};

function badRequest(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadRequestException, `not a 400: ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('TF Serving v1 codec: paths', () => {
  it('parses name, selector and action', () => {
    assert.deepEqual(parseTfServingPath('m'), { name: 'm', selector: {}, action: 'status' });
    assert.deepEqual(parseTfServingPath('m/versions/4'), { name: 'm', selector: { version: 4 }, action: 'status' });
    assert.deepEqual(parseTfServingPath('m/labels/production/metadata'), {
      name: 'm',
      selector: { alias: 'production' },
      action: 'metadata',
    });
    assert.deepEqual(parseTfServingPath('m.v1:predict'), { name: 'm.v1', selector: {}, action: 'predict' });
    assert.deepEqual(parseTfServingPath('m/versions/1:classify'), { name: 'm', selector: { version: 1 }, action: 'classify' });
    assert.deepEqual(parseTfServingPath('m/labels/canary:regress'), { name: 'm', selector: { alias: 'canary' }, action: 'regress' });
    assert.deepEqual(parseTfServingPath('m:explain'), { name: 'm', selector: {}, action: 'explain' }, "KServe V1's verb");
  });

  it('refuses other paths (null → 404) and non-numeric versions (404)', () => {
    for (const p of ['', 'm:explains', 'm/metadata:predict', 'm/versions', 'm/other/1', 'm/versions/1/labels/x'])
      assert.equal(parseTfServingPath(p), null, p);
    assert.throws(() => parseTfServingPath('m/versions/latest'), NotFoundException);
    assert.throws(() => parseTfServingPath('m/versions/0:predict'), NotFoundException);
  });
});

describe('TF Serving v1 codec: predict requests', () => {
  it('row form, single input: one entry per example', () => {
    const r = parsePredictRequest(
      {
        instances: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
      single,
    );
    assert.equal(r.form, 'row');
    assert.deepEqual(
      r.inputs.map((t) => [t.name, t.dtype, t.shape, Array.from(t.data as ArrayLike<number>)]),
      [['x', 'float32', [2, 3], [1, 2, 3, 4, 5, 6]]],
    );
    const named = parsePredictRequest({ signature_name: 'serving_default', instances: [{ x: [1, 2, 3] }] }, single);
    assert.deepEqual(named.inputs[0]!.shape, [1, 3]);
  });

  it('row form, several inputs: each instance is an object keyed by input name', () => {
    const r = parsePredictRequest(
      {
        instances: [
          { a: [1, 2], b: 7 },
          { a: [3, 4], b: 8 },
        ],
      },
      multi,
    );
    assert.deepEqual(
      r.inputs.map((t) => [t.name, t.dtype, t.shape, Array.from(t.data as ArrayLike<number>)]),
      [
        ['a', 'float32', [2, 2], [1, 2, 3, 4]],
        ['b', 'int32', [2], [7, 8]],
      ],
    );
    badRequest(
      () => parsePredictRequest({ instances: [[1, 2]] }, multi),
      /^instances\[0\]: model 'm' has 2 inputs \(a, b\); each instance must be an object/,
    );
    badRequest(() => parsePredictRequest({ instances: [{ a: [1, 2] }] }, multi), /^instances\[0\]: input 'b' is missing$/);
    badRequest(
      () => parsePredictRequest({ instances: [{ a: [1, 2], b: 1, c: 2 }] }, multi),
      /^instances\[0\]\.c: 'c' is not an input of model 'm' \(inputs: a, b\)$/,
    );
  });

  it('columnar form: a tensor for a single input, an object keyed by name otherwise', () => {
    const one = parsePredictRequest({ inputs: [[1, 2, 3]] }, single);
    assert.equal(one.form, 'columnar');
    assert.deepEqual(one.inputs[0]!.shape, [1, 3]);
    const named = parsePredictRequest({ inputs: { a: [[1, 2]], b: [5] } }, multi);
    assert.deepEqual(
      named.inputs.map((t) => t.shape),
      [[1, 2], [1]],
    );
    badRequest(
      () => parsePredictRequest({ inputs: [[1, 2]] }, multi),
      /^inputs: model 'm' has 2 inputs \(a, b\); send an object keyed by input name$/,
    );
    badRequest(() => parsePredictRequest({ inputs: { a: [[1, 2]] } }, multi), /^inputs: input 'b' is missing$/);
  });

  it('exactly one of instances or inputs; only the serving_default signature', () => {
    badRequest(
      () => parsePredictRequest({ instances: [[1, 2, 3]], inputs: [[1, 2, 3]] }, single),
      /^body: send exactly one of "instances" \(row form\) or "inputs" \(columnar form\)$/,
    );
    badRequest(() => parsePredictRequest({}, single), /exactly one of/);
    badRequest(() => signatureView(single, 'classify_x'), /^Serving signature name: "classify_x" not found in signature def$/);
    badRequest(() => parsePredictRequest({ signature_name: 3, instances: [[1, 2, 3]] }, single), /must be a string value/);
    badRequest(() => parsePredictRequest([[1, 2, 3]], single), /^body: must be a JSON object/);
    badRequest(() => parsePredictRequest({ instances: [] }, single), /^instances: must be a non-empty list/);
  });

  it('refuses ragged instances and ragged columns, naming the place', () => {
    badRequest(
      () =>
        parsePredictRequest(
          {
            instances: [
              [1, 2, 3],
              [4, 5],
            ],
          },
          single,
        ),
      /^instances\[1\]: shape \[2\] differs from the first instance's \[3\] \(input 'x'\)$/,
    );
    badRequest(
      () =>
        parsePredictRequest(
          {
            inputs: [
              [1, 2, 3],
              [4, 5],
            ],
          },
          single,
        ),
      /^inputs\[1\]: a list of 2 where a list of 3 belongs \(shape \[2, 3\]\)$/,
    );
    badRequest(
      () => parsePredictRequest({ instances: [[1, [2], 3]] }, single),
      /^instances\[0\]\[1\]: a list where a scalar belongs \(shape \[3\]\)$/,
    );
    badRequest(
      () => parsePredictRequest({ instances: [[[1], 2, 3]] }, single),
      /^instances\[0\]\[1\]: 2 where a list of 1 belongs \(shape \[3, 1\]\)$/,
    );
  });

  it('a ragged value promising a huge shape is refused at the ragged spot', () => {
    const ragged = [Array.from({ length: 1000 }, () => [0, 0, 0]), ...Array.from({ length: 999 }, () => [[0, 0, 0]])];
    badRequest(
      () => parsePredictRequest({ inputs: ragged }, single),
      /^inputs\[1\]: a list of 1 where a list of 1000 belongs \(shape \[1000, 1000, 3\]\)$/,
    );
  });

  it('refuses {"b64": …} and strings for a number input, and wrong scalar kinds', () => {
    badRequest(
      () => parsePredictRequest({ instances: [{ b64: 'aGVsbG8=' }] }, single),
      /^instances\[0\]: a \{"b64": …\} value: string and \{"b64": …\} values need a string input; the input is float32$/,
    );
    badRequest(() => parsePredictRequest({ instances: [[1, 'two', 3]] }, single), /^instances\[0\]\[1\]: the string "two": string and/);
    badRequest(
      () => parsePredictRequest({ inputs: { a: [[1, 2]], b: [1.5] } }, multi),
      /^inputs\.b\[0\]: 1\.5 is not a 32-bit integer \(the input is int32\)$/,
    );
    badRequest(() => parsePredictRequest({ instances: [[1, true, 3]] }, single), /^instances\[0\]\[1\]: true is not a number/);
  });

  it('takes the NaN / Infinity tokens the /v1 body parser reads', () => {
    const v1 = registerServingBodyDialects(new JsonBodyDialects()).forPath('/v1/models/m:predict');
    const body = parseJsonBody('{"instances": [[NaN, Infinity, -Infinity]]}', v1);
    const data = Array.from(parsePredictRequest(body, single).inputs[0]!.data as ArrayLike<number>);
    assert.ok(Number.isNaN(data[0]));
    assert.deepEqual(data.slice(1), [Infinity, -Infinity]);
  });
});

/** What the client reads: the response as the serving JSON writer prints it, parsed. */
const wire = (value: unknown): unknown => JSON.parse(writeServingJson(value));

describe('TF Serving v1 codec: predict responses', () => {
  const one: InferenceResult = {
    model: single,
    canary: false,
    outputs: [{ name: 'p', dtype: 'float32', shape: [2, 2], data: new Float32Array([0.5, 0.5, 0.25, 0.75]) }],
  };
  const two: InferenceResult = {
    model: multi,
    canary: false,
    outputs: [one.outputs[0]!, { name: 'c', dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) }],
  };

  it('a single output drops its name', () => {
    assert.deepEqual(wire(predictResponse(one, 'row')), {
      predictions: [
        [0.5, 0.5],
        [0.25, 0.75],
      ],
    });
    assert.deepEqual(wire(predictResponse(one, 'columnar')), {
      outputs: [
        [0.5, 0.5],
        [0.25, 0.75],
      ],
    });
  });

  it('several outputs are keyed by name, per row or per column', () => {
    assert.deepEqual(wire(predictResponse(two, 'row')), {
      predictions: [
        { p: [0.5, 0.5], c: true },
        { p: [0.25, 0.75], c: false },
      ],
    });
    assert.deepEqual(wire(predictResponse(two, 'columnar')), {
      outputs: {
        p: [
          [0.5, 0.5],
          [0.25, 0.75],
        ],
        c: [true, false],
      },
    });
  });

  it("KServe V1's explain answer: the predictions in row form, then one explanation per instance", () => {
    const explanations = [{ attributions: { a: 0.1 } }, { attributions: { a: -0.2 } }];
    assert.deepEqual(wire(explainResponse(one, explanations)), {
      predictions: [
        [0.5, 0.5],
        [0.25, 0.75],
      ],
      explanations,
    });
  });
});

describe('TF Serving v1 codec: classify and regress', () => {
  it('turns examples (+ context) into named-feature records, unwrapping one-element lists', () => {
    const records = parseExamples({ context: { island: 'Biscoe' }, examples: [{ len: 40.1 }, { len: [39] }] }, trained, 'classify');
    assert.deepEqual(records, [
      { island: 'Biscoe', len: 40.1 },
      { island: 'Biscoe', len: 39 },
    ]);
  });

  it('refuses imported models, the wrong task and malformed examples', () => {
    badRequest(
      () => parseExamples({ examples: [{}] }, single, 'classify'),
      /^model 'm' version 2 was imported without named features; :classify needs a Kiln-trained model \(use :predict\)$/,
    );
    badRequest(() => parseExamples({ examples: [{}] }, trained, 'regress'), /^model 'm' is a multiclass model; use :classify$/);
    badRequest(
      () => parseExamples({ examples: [{}] }, { ...trained, task: 'regression' }, 'classify'),
      /^model 'm' is a regression model; use :regress$/,
    );
    badRequest(() => parseExamples({ examples: [] }, trained, 'classify'), /^examples: must be a non-empty list/);
    badRequest(() => parseExamples({ examples: [5] }, trained, 'classify'), /^examples\[0\]: must be an object/);
    badRequest(() => parseExamples({ examples: [{ len: [1, 2] }] }, trained, 'classify'), /^examples\[0\]\.len: a list of 2 values/);
    badRequest(
      () => parseExamples({ examples: [{ island: { b64: 'eA==' } }] }, trained, 'classify'),
      /^examples\[0\]\.island: \{"b64": …\} values are not supported/,
    );
    badRequest(
      () => parseExamples({ context: { len: 1 }, examples: [{ len: 2 }] }, trained, 'classify'),
      /^examples\[0\]\.len: also given in context$/,
    );
    badRequest(() => parseExamples({ context: [], examples: [{}] }, trained, 'classify'), /^context: must be an object/);
    badRequest(
      () => parseExamples({ signature_name: 7, examples: [{}] }, trained, 'classify'),
      /^signature_name: 'signature_name' key must be a string value\.$/,
    );
  });

  it('answers `results` lists in TF Serving shape', () => {
    assert.deepEqual(wire(classifyResponse([{ label: 'b', probabilities: { a: 0.25, b: 0.75 } }])), {
      results: [
        [
          ['a', 0.25],
          ['b', 0.75],
        ],
      ],
    });
    assert.deepEqual(wire(regressResponse([{ value: 1.5 }, { value: -2 }])), { results: [1.5, -2] });
    assert.equal(
      writeServingJson(regressResponse([{ value: 3 }, { value: 0.1 }])),
      '{"results":[3.0,0.1]}',
      'float32 values, as TF Serving prints them',
    );
  });
});

describe('TF Serving v1 codec: status and metadata', () => {
  it('model_version_status with string versions and error codes', () => {
    assert.deepEqual(
      modelStatusResponse([
        { version: 2, state: 'AVAILABLE', error: null },
        { version: 1, state: 'END', error: 'weights missing' },
      ]),
      {
        model_version_status: [
          { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
          { version: '1', state: 'END', status: { error_code: 'UNKNOWN', error_message: 'weights missing' } },
        ],
      },
    );
  });

  it("the status of /v1/models/{name} also in KServe V1's model-ready shape: name and ready first", () => {
    const body = modelStatusResponse([{ version: 3, state: 'AVAILABLE', error: null }], { name: 'm', ready: true });
    assert.equal(
      writeServingJson(body),
      '{"name":"m","ready":true,' +
        '"model_version_status":[{"version":"3","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}]}',
    );
    assert.deepEqual(modelStatusResponse([], { name: 'm', ready: false }), { name: 'm', ready: false, model_version_status: [] });
  });

  it('metadata in the GetModelMetadata JSON shape', () => {
    const md = modelMetadataResponse(multi);
    assert.deepEqual(md.model_spec, { name: 'm', signature_name: '', version: '2' });
    const sig = md.metadata.signature_def.signature_def.serving_default;
    assert.equal(sig.method_name, 'tensorflow/serving/predict');
    assert.deepEqual(sig.defaults, {}, 'TF Serving writes every SignatureDef field (saved_model_half_plus_two_2_versions_metadata.json)');
    assert.deepEqual(sig.inputs.a, {
      dtype: 'DT_FLOAT',
      tensor_shape: {
        dim: [
          { size: '-1', name: '' },
          { size: '2', name: '' },
        ],
        unknown_rank: false,
      },
      name: 'a:0',
    });
    assert.equal(sig.inputs.b!.dtype, 'DT_INT32');
    assert.equal(sig.outputs.c!.dtype, 'DT_BOOL');
  });
});
