/**
 * Replays of the peers' documented JSON cases against a real Kiln on PostgreSQL, with the expected
 * answers written down from the peers:
 *
 *  - TF Serving `model_servers/http_rest_api_handler_test.cc` (UnsupportedApiCalls,
 *    PredictRequestErrors, Predict) on a half_plus_two graph model, and `g3doc/api_rest.md`'s
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
import { HALF_PLUS_TWO_SIGNATURE, halfPlusTwo, KSERVE_EXAMPLE_SIGNATURE, kserveExample } from '../support/tfjs/serving-fixtures';
import { skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';

const HPT = 'half_plus_two';
const KSERVE = 'mymodel';

async function importGraph(kiln: TestKiln, name: string, bytes: ModelBytes, signature: object): Promise<void> {
  const form = new FormData();
  form.append('signature', JSON.stringify(signature));
  form.append('model', new Blob([JSON.stringify(bytes.modelJson)]), 'model.json');
  form.append('weights', new Blob([bytes.weights]), 'group1-shard1of1.bin');
  const res = await fetch(`${kiln.url}/api/models/${name}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kiln.adminKey}` },
    body: form,
  });
  assert.equal(res.status, 201, await res.text());
  const alias = await kiln.request('PUT', `/api/models/${name}/aliases/production`, { body: { version: 1 } });
  assert.equal(alias.status, 200, alias.text);
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
