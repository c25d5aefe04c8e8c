import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tfServingUrlProblem } from './tf-serving-urls';

/** TF Serving's http_rest_api_handler_test.cc `UnsupportedApiCalls`, the expected messages written down from it. */
describe('TF Serving URLs (http_rest_api_handler_test.cc UnsupportedApiCalls)', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['GET', '/v1/foo', /^Malformed request: GET \/v1\/foo$/],
    ['POST', '/v1/foo', /^Malformed request/],
    ['GET', '/v1/models', /^Missing model name in request\.$/],
    ['GET', '/v1/models/debug/model_name', /^Malformed request/],
    ['POST', '/v1/models', /^Malformed request/],
    ['GET', '/v1/models/foo:predict', /^Malformed request: GET \/v1\/models\/foo:predict$/],
    ['GET', '/v1/models/foo/version/50:predict', /^Malformed request/],
    ['POST', '/v1/models/foo/version/50:regress', /^Malformed request/],
    ['POST', '/v1/models/foo/versions/HELLO:regress', /^Malformed request/],
    ['POST', '/v1/models/foo/versions/18446744073709551615:regress', /^Failed to convert version: 18446744073709551615 to numeric\.$/],
    ['POST', '/v1/models/foo/metadata', /^Malformed request/],
    ['POST', '/v1/models/foo/label/some_label:regress', /^Malformed request/],
    ['POST', '/v1/models/foo/versions/50/labels/some_label:regress', /^Malformed request/],
    ['POST', '/v1/models/foo/versions/some_label:regress', /^Malformed request/],
    ['DELETE', '/v1/models/foo', /^Malformed request: DELETE/],
  ];
  for (const [method, path, message] of cases) {
    it(`${method} ${path} → 400`, () => {
      assert.match(tfServingUrlProblem(method, path) ?? 'null (no problem)', message);
    });
  }

  it('lets every TF Serving route through', () => {
    for (const [method, path] of [
      ['GET', '/v1/models/foo'],
      ['GET', '/v1/models/foo/metadata'],
      ['GET', '/v1/models/foo/versions/123'],
      ['GET', '/v1/models/foo/labels/stable/metadata'],
      ['POST', '/v1/models/foo:predict'],
      ['POST', '/v1/models/foo/versions/9223372036854775807:classify'],
      ['POST', '/v1/models/foo/labels/canary:regress'],
    ] as const) {
      assert.equal(tfServingUrlProblem(method, path), null, `${method} ${path}`);
    }
  });

  it("lets KServe V1's :explain through on POST only", () => {
    assert.equal(tfServingUrlProblem('POST', '/v1/models/foo:explain'), null);
    assert.equal(tfServingUrlProblem('POST', '/v1/models/foo/versions/2:explain'), null);
    assert.match(tfServingUrlProblem('GET', '/v1/models/foo:explain') ?? '', /^Malformed request: GET/);
    assert.match(tfServingUrlProblem('POST', '/v1/models/foo:explains') ?? '', /^Malformed request: POST/);
  });
});
