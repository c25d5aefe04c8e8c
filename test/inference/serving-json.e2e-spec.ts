/**
 * Replays of the peers' documented JSON cases against a real Kiln on PostgreSQL, with the expected
 * answers written down from the peers:
 *
 *  - TF Serving `model_servers/http_rest_api_handler_test.cc` (UnsupportedApiCalls,
 *    PredictModelNameVersionErrors, PredictRequestErrors, Predict, Regress, Classify, GetStatus,
 *    GetModelMetadata: all 36 of its HTTP cases) on a half_plus_two graph
 *    model with its named signatures, and `g3doc/api_rest.md`'s
 *    non-finite numbers (`NaN`, `Infinity`, `-Infinity` in and out; ±1.797e308 → ±Infinity);
 *  - float32 printed as TF Serving prints it (`[2.05, 3.0]`, not `[2.049999952316284, 3]`);
 *  - Triton's non-finite tokens on /v2 and its 400 for a duplicate requested output;
 *  - KServe `docs/predict-api/v2/required_api.md`'s request example (inputs `[2, 2]` and `[3]`, no
 *    batch dimension), with its BOOL data made whole (the document's own example sends one value
 *    for shape `[3]`, which the same document calls an error);
 *  - `Content-Type: application/json` exactly, on answers and errors of /v1 and /v2.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import type { ModelBytes } from '../../src/platform/tfjs/artifact-io';
import { parseJsonWithNonFinite } from '../../src/inference/protocols/json-body';
import {
  HALF_PLUS_THREE_SIGNATURE,
  HALF_PLUS_TWO_SIGNATURE,
  halfPlusTwo,
  KSERVE_EXAMPLE_SIGNATURE,
  kserveExample,
} from '../support/tfjs/serving-fixtures';
import { skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';

const HPT = 'half_plus_two';
const HP3 = 'saved_model_half_plus_three';
const KSERVE = 'mymodel';

async function importGraph(kiln: TestKiln, name: string, bytes: ModelBytes, signature: object): Promise<void> {
  const res = await upload(kiln, name, bytes, signature);
  assert.equal(res.status, 201, await res.text());
  const alias = await kiln.request('PUT', `/api/models/${name}/aliases/production`, { body: { version: 1 } });
  assert.equal(alias.status, 200, alias.text);
}

function upload(kiln: TestKiln, name: string, bytes: ModelBytes, signature: object): Promise<Response> {
  const form = new FormData();
  form.append('signature', JSON.stringify(signature));
  form.append('model', new Blob([JSON.stringify(bytes.modelJson)]), 'model.json');
  form.append('weights', new Blob([bytes.weights]), 'group1-shard1of1.bin');
  return fetch(`${kiln.url}/api/models/${name}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kiln.adminKey}` },
    body: form,
  });
}

/** The body as TF Serving's and Triton's clients read it (NaN and Infinity tokens included). */
function read(res: TestResponse): any {
  return parseJsonWithNonFinite(res.text);
}

function assertJsonType(res: TestResponse): void {
  assert.equal(res.headers.get('content-type'), 'application/json', `${res.status} ${res.text.slice(0, 200)}`);
}

function assertError(res: TestResponse, status: number, pattern: RegExp): void {
  assert.equal(res.status, status, res.text);
  assertJsonType(res);
  assert.deepEqual(Object.keys(read(res)), ['error'], res.text);
  assert.match(read(res).error, pattern);
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('serving JSON semantics (TF Serving and KServe/Triton replays) on "postgres"', { skip }, () => {
    let kiln: TestKiln;
    const v1 = (path: string, body?: unknown, method = 'POST') =>
      kiln.request(method, `/v1/models/${path}`, body === undefined ? {} : { body: body as object });

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres', { KILN_ROUTING_REFRESH_MS: '200' });
      await importGraph(kiln, HPT, halfPlusTwo(), HALF_PLUS_TWO_SIGNATURE);
      await importGraph(kiln, KSERVE, kserveExample(), KSERVE_EXAMPLE_SIGNATURE);
      await importGraph(kiln, HP3, halfPlusTwo(), HALF_PLUS_THREE_SIGNATURE);
    });
    after(async () => {
      await kiln?.close();
    });

    describe('TF Serving http_rest_api_handler_test.cc', () => {
      it('Predict: row and columnar forms, rank-2 instances, explicit serving_default, Content-Type application/json', async () => {
        const cases: Array<[string, unknown, string]> = [
          [
            `${HPT}:predict`,
            {
              instances: [
                [1.0, 2.0],
                [3.0, 4.0],
              ],
            },
            '{"predictions":[[2.5,3.0],[3.5,4.0]]}',
          ],
          [`${HPT}/versions/1:predict`, { instances: [1.0, 2.0] }, '{"predictions":[2.5,3.0]}'],
          [`${HPT}/labels/production:predict`, { instances: [1.0, 2.0] }, '{"predictions":[2.5,3.0]}'],
          [`${HPT}/versions/1:predict`, { signature_name: 'serving_default', instances: [3.0, 4.0] }, '{"predictions":[3.5,4.0]}'],
          [`${HPT}/versions/1:predict`, { signature_name: 'serving_default', inputs: [3.0, 4.0] }, '{"outputs":[3.5,4.0]}'],
        ];
        for (const [path, body, want] of cases) {
          const res = await v1(path, body);
          assert.equal(res.status, 200, res.text);
          assertJsonType(res);
          assert.equal(res.text, want, path);
        }
      });

      it('Regress and Classify: named signatures of an imported model, answered as "results"', async () => {
        const cases: Array<[string, unknown, string]> = [
          [`${HPT}:regress`, { signature_name: 'regress_x_to_y', examples: [{ x: 80.0 }] }, '{"results":[42.0]}'],
          [`${HPT}/versions/1:regress`, { signature_name: 'regress_x_to_y', examples: [{ x: 80.0 }] }, '{"results":[42.0]}'],
          [`${HPT}/labels/production:regress`, { signature_name: 'regress_x_to_y', examples: [{ x: 80.0 }] }, '{"results":[42.0]}'],
          [`${HPT}:classify`, { signature_name: 'classify_x_to_y', examples: [{ x: 20.0 }] }, '{"results":[[["",12.0]]]}'],
          [`${HPT}/labels/production:classify`, { signature_name: 'classify_x_to_y', examples: [{ x: 10.0 }] }, '{"results":[[["",7.0]]]}'],
          // the case, and the other signatures of half_plus_two (y2 = 0.5x + 3, y3 = 0.5x2 + 3)
          [`${HPT}:regress`, { signature_name: 'regress_x_to_y', examples: [{ x: 2 }] }, '{"results":[3.0]}'],
          [`${HPT}:regress`, { signature_name: 'regress_x_to_y2', examples: [{ x: 2 }, { x: [4] }] }, '{"results":[4.0,5.0]}'],
          [`${HPT}:regress`, { signature_name: 'regress_x2_to_y3', context: { x: 9 }, examples: [{ x2: 1 }] }, '{"results":[3.5]}'],
          [`${HPT}:classify`, { signature_name: 'classify_x2_to_y3', examples: [{ x2: 0.1 }] }, '{"results":[[["",3.05]]]}'],
          [`${HPT}:predict`, { signature_name: 'regress_x2_to_y3', instances: [1, 3] }, '{"predictions":[3.5,4.5]}'],
        ];
        for (const [path, body, want] of cases) {
          const res = await v1(path, body);
          assert.equal(res.status, 200, `${path} ${res.text}`);
          assertJsonType(res);
          assert.equal(res.text, want, `${path} ${JSON.stringify(body)}`);
        }
        assertError(
          await v1(`${HPT}:regress`, { examples: [{ x: 1 }] }),
          400,
          /^Expected regression signature method_name to be tensorflow\/serving\/regress\. Was: tensorflow\/serving\/predict$/,
        );
        assertError(
          await v1(`${HPT}:classify`, { signature_name: 'regress_x_to_y', examples: [{ x: 1 }] }),
          400,
          /Expected classification signature/,
        );
        assertError(
          await v1(`${HPT}:regress`, { signature_name: 'nope', examples: [{ x: 1 }] }),
          400,
          /^Serving signature name: "nope" not found in signature def$/,
        );
        assertError(
          await v1(`${HPT}:predict`, { signature_name: 'nope', instances: [1] }),
          400,
          /^Serving signature name: "nope" not found/,
        );
        assertError(
          await v1(`${HPT}:regress`, { signature_name: 'regress_x2_to_y3', examples: [{ x: 1 }] }),
          400,
          /feature 'x2' is missing/,
        );
      });

      it('GetStatus: all versions, a version, a label', async () => {
        for (const path of [HPT, `${HPT}/versions/1`, `${HPT}/labels/production`]) {
          const res = await kiln.request('GET', `/v1/models/${path}`);
          assert.equal(res.status, 200, res.text);
          assertJsonType(res);
          // A deliberate difference: by name alone the status also answers KServe V1's model-ready route
          // (`name`, `ready` first; docs/protocols.md). The handler test compares whole documents.
          const readiness = path === HPT ? { name: HPT, ready: true } : {};
          assert.deepEqual(read(res), {
            ...readiness,
            model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
          });
        }
      });

      it('import checks named signatures against the graph (400 naming the field)', async () => {
        const refused = async (signature: object, field: string) => {
          const res = await upload(kiln, 'hpt-refused', halfPlusTwo(), signature);
          const body = (await res.json()) as { errors: Array<{ field: string; reason: string }> };
          assert.equal(res.status, 400, JSON.stringify(body));
          assert.equal(body.errors[0]!.field, field, JSON.stringify(body));
        };
        const { signatures: _all, ...single } = HALF_PLUS_TWO_SIGNATURE;
        await refused(single, 'signature.inputs'); // x2 is in no signature
        const s = (def: object) => ({ ...single, signatures: { s: def } });
        await refused(
          s({
            method: 'regress',
            inputs: [{ name: 'x2', dtype: 'float32', shape: [-1] }],
            outputs: [{ name: 'o', tensor: 'nope', dtype: 'float32', shape: [-1] }],
          }),
          'signature.signatures.s.outputs.0.tensor',
        );
        await refused(
          s({
            inputs: [
              { name: 'x2', dtype: 'float32', shape: [-1] },
              { name: 'z', dtype: 'float32', shape: [-1] },
            ],
            outputs: [{ name: 'y3', dtype: 'float32', shape: [-1] }],
          }),
          'signature.signatures.s.inputs.1.tensor',
        );
        await refused(
          s({ inputs: [{ name: 'x2', dtype: 'float32', shape: [-1] }], outputs: [{ name: 'y3', dtype: 'float32', shape: [-1, 4] }] }),
          'signature.signatures.s.outputs.0.shape',
        );
      });

      it("GetModelMetadata: every signature in TF Serving's shape, with defaults and tensor names", async () => {
        const res = await kiln.request('GET', `/v1/models/${HPT}/metadata`);
        assert.equal(res.status, 200, res.text);
        assertJsonType(res);
        const body = read(res);
        assert.deepEqual(body.model_spec, { name: HPT, signature_name: '', version: '1' });
        const defs = body.metadata.signature_def.signature_def;
        // saved_model_half_plus_two_2_versions_metadata.json lists these six
        assert.deepEqual(Object.keys(defs).sort(), [
          'classify_x2_to_y3',
          'classify_x_to_y',
          'regress_x2_to_y3',
          'regress_x_to_y',
          'regress_x_to_y2',
          'serving_default',
        ]);
        const scalarBatch = { dim: [{ size: '-1', name: '' }], unknown_rank: false };
        assert.deepEqual(defs.serving_default, {
          inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: scalarBatch, name: 'x:0' } },
          outputs: { y: { dtype: 'DT_FLOAT', tensor_shape: scalarBatch, name: 'y:0' } },
          method_name: 'tensorflow/serving/predict',
          defaults: {},
        });
        assert.equal(defs.regress_x_to_y.method_name, 'tensorflow/serving/regress');
        assert.equal(defs.regress_x_to_y.outputs.outputs.name, 'y:0');
        assert.equal(defs.regress_x2_to_y3.inputs.x2.name, 'x2:0');
        assert.equal(defs.classify_x_to_y.method_name, 'tensorflow/serving/classify');
        assert.equal(defs.classify_x_to_y.outputs.scores.name, 'y:0');
        for (const d of Object.values<any>(defs)) assert.deepEqual(d.defaults, {});
      });

      it('UnsupportedApiCalls: 400 with TF Serving messages for malformed URLs', async () => {
        const cases: Array<[string, string, RegExp]> = [
          ['GET', '/v1/foo', /^Malformed request: GET \/v1\/foo$/],
          ['POST', '/v1/foo', /^Malformed request/],
          ['GET', '/v1/models', /^Missing model name in request\.$/],
          ['GET', '/v1/models/debug/model_name', /^Malformed request/],
          ['POST', '/v1/models', /^Malformed request/],
          ['GET', '/v1/models/foo:predict', /^Malformed request/],
          ['GET', '/v1/models/foo/version/50:predict', /^Malformed request/],
          ['POST', '/v1/models/foo/version/50:regress', /^Malformed request/],
          ['POST', '/v1/models/foo/versions/HELLO:regress', /^Malformed request/],
          ['POST', '/v1/models/foo/versions/18446744073709551615:regress', /^Failed to convert version/],
          ['POST', '/v1/models/foo/metadata', /^Malformed request/],
          ['POST', '/v1/models/foo/label/some_label:regress', /^Malformed request/],
          ['POST', '/v1/models/foo/versions/50/labels/some_label:regress', /^Malformed request/],
          ['POST', '/v1/models/foo/versions/some_label:regress', /^Malformed request/],
        ];
        for (const [method, path, message] of cases) {
          assertError(await kiln.request(method, path, method === 'POST' ? { body: {} } : {}), 400, message);
        }
      });

      it('PredictModelNameVersionErrors: 404 for an unknown model or version', async () => {
        assertError(await v1('foo:predict', { instances: [1] }), 404, /foo/);
        assertError(await v1('foo/versions/50:predict', { instances: [1] }), 404, /foo/);
        assertError(await v1(`${HPT}/versions/99:predict`, { instances: [1] }), 404, /99/);
      });

      it('PredictRequestErrors: empty and malformed JSON, wrong type, unknown label, signature_name type', async () => {
        const raw = (body: string, path = `${HPT}:predict`) => kiln.request('POST', `/v1/models/${path}`, { body });
        assertError(await raw(''), 400, /empty/);
        assertError(await raw('instances = [1, 2]'), 400, /not valid JSON/);
        assertError(await raw('{ "instances": ["x", "y"] }'), 400, /instances\[0\]/);
        assertError(
          await raw('{ "instances": ["x", "y"] }', `${HPT}/labels/Version_Nonexistent:predict`),
          400,
          /Unrecognized servable version label: Version_Nonexistent/,
        );
        assertError(await raw('{ "signature_name": 100 }'), 400, /'signature_name' key must be a string value\./);
      });
    });

    describe('TF Serving g3doc/api_rest.md "Example" (curl -d sends form-encoded JSON)', () => {
      const curl = (path: string, data?: string) =>
        kiln.request(data === undefined ? 'GET' : 'POST', `/v1/models/${path}`, {
          ...(data === undefined ? {} : { body: data, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        });

      it('status, predict, regress on "tensorflow/serving/regress", and 404 for an unknown model', async () => {
        const status = await curl(HP3);
        assert.equal(status.status, 200, status.text);
        assertJsonType(status);
        // api_rest.md shows model_version_status alone; Kiln adds KServe V1's readiness (docs/protocols.md)
        assert.deepEqual(read(status), {
          name: HP3,
          ready: true,
          model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
        });
        const predict = await curl(`${HP3}:predict`, '{"instances": [1.0,2.0,5.0]}');
        assertJsonType(predict);
        assert.deepEqual(read(predict), { predictions: [3.5, 4.0, 5.5] });
        const regress = await curl(
          `${HP3}:regress`,
          '{"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]}',
        );
        assertJsonType(regress);
        assert.equal(regress.text, '{"results":[3.5,4.0]}');
        assertError(await curl('half:predict', '{"instances": [1.0,5.0]}'), 404, /half/);
      });
    });

    describe('non-finite numbers and float32 printing', () => {
      it('/v1 reads and writes NaN, Infinity, -Infinity; ±1.797e308 becomes ±Infinity in float32 (api_rest.md)', async () => {
        const res = await kiln.request('POST', `/v1/models/${HPT}:predict`, {
          body: '{"instances": [1.0, -3.14, NaN, Infinity, -Infinity, 1.797e308, -1.797e308]}',
        });
        assert.equal(res.status, 200, res.text);
        assertJsonType(res);
        // 0.5 · float32(-3.14) + 2 in float32 is 0.42999995 (TF.js arithmetic), printed at float32 precision.
        assert.equal(res.text, '{"predictions":[2.5,0.42999995,NaN,Infinity,-Infinity,Infinity,-Infinity]}');
      });

      it('float32 outputs print as the shortest float32 decimal ([2.05, 3.0], not [2.049999952316284, 3])', async () => {
        const res = await v1(`${HPT}:predict`, { instances: [0.1, 2] });
        assert.equal(res.text, '{"predictions":[2.05,3.0]}');
        const v2 = await kiln.request('POST', `/v2/models/${HPT}/infer`, {
          body: { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [0.1, 2] }] },
        });
        assert.equal(v2.status, 200, v2.text);
        assert.deepEqual(read(v2).outputs, [{ name: 'y', datatype: 'FP32', shape: [2], data: [2.05, 3] }]);
        assert.match(v2.text, /"data":\[2\.05,3\.0\]/);
      });

      it('/v2 reads and writes the NaN and Infinity tokens, as Triton does', async () => {
        const res = await kiln.request('POST', `/v2/models/${HPT}/infer`, {
          body: '{"inputs": [{"name": "x", "shape": [4], "datatype": "FP32", "data": [NaN, Infinity, -Infinity, 1.0]}]}',
        });
        assert.equal(res.status, 200, res.text);
        assertJsonType(res);
        assert.match(res.text, /"data":\[NaN,Infinity,-Infinity,2\.5\]/);
        assertError(
          await kiln.request('POST', `/v2/models/${KSERVE}/infer`, {
            body: '{"inputs": [{"name": "input0", "shape": [2, 2], "datatype": "INT32", "data": [NaN, 1, 2, 3]}]}',
          }),
          400,
          /inputs\[0\]\.data\[0\]: NaN is not a valid INT32/,
        );
      });
    });

    describe('OIP v2 (KServe required_api.md, Triton)', () => {
      const example = {
        id: '42',
        inputs: [
          { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
          { name: 'input1', shape: [3], datatype: 'BOOL', data: [true, false, true] },
        ],
        outputs: [{ name: 'output0' }],
      };

      it('the inference request example: inputs of different first dimensions on a fixed-shape model', async () => {
        const res = await kiln.request('POST', `/v2/models/${KSERVE}/infer`, { body: example });
        assert.equal(res.status, 200, res.text);
        assertJsonType(res);
        assert.deepEqual(read(res), {
          model_name: KSERVE,
          model_version: '1',
          id: '42',
          outputs: [{ name: 'output0', datatype: 'FP32', shape: [3, 2], data: [5, 7, 4, 6, 5, 7] }],
        });
      });

      it("a duplicate requested output is Triton's 400", async () => {
        assertError(
          await kiln.request('POST', `/v2/models/${KSERVE}/infer`, {
            body: { ...example, outputs: [{ name: 'output0' }, { name: 'output0' }] },
          }),
          400,
          /^output 'output0' already exists in request$/,
        );
      });

      it('answers and errors of /v2 are application/json exactly', async () => {
        for (const path of ['/v2', '/v2/health/live', `/v2/models/${KSERVE}`, `/v2/models/${KSERVE}/ready`]) {
          const res = await kiln.request('GET', path);
          assert.equal(res.status, 200, res.text);
          assertJsonType(res);
        }
        assertError(await kiln.request('GET', '/v2/models/nope'), 404, /nope/);
        assertError(await kiln.request('POST', `/v2/models/${KSERVE}/infer`, { body: '{' }), 400, /not valid JSON/);
        assertError(await kiln.request('GET', `/v2/models/${KSERVE}/infer`), 405, /use POST/);
        assertError(await kiln.request('GET', `/v2/models/${KSERVE}`, { key: null }), 401, /./);
      });
    });
  });
}

void main();
