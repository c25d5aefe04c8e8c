import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException } from '@nestjs/common';
import { JsonBodyDialects, jsonDepthExceeds, parseJsonBody } from '../../platform/http/json-body';
import { isServingPath, parseJsonWithNonFinite, registerServingBodyDialects } from './json-body';

const dialects = registerServingBodyDialects(new JsonBodyDialects());

/** The body parser as the running server applies it to a path (platform parser + the serving dialects). */
function parseServingJson(text: string, path: string, maxDepth?: number): unknown {
  return parseJsonBody(text, dialects.forPath(path), maxDepth);
}

function badRequest(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadRequestException, `not a 400: ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('serving JSON body parser', () => {
  it('parses plain JSON on every route', () => {
    assert.deepEqual(parseServingJson('{"instances": [[1, 2.5], [3, -4e2]]}', '/v1/models/m:predict'), {
      instances: [
        [1, 2.5],
        [3, -400],
      ],
    });
    assert.deepEqual(parseServingJson('{"a": "NaN"}', '/v2/models/m/infer'), { a: 'NaN' });
    assert.deepEqual(parseServingJson('[true, null]', '/api/x'), [true, null]);
  });

  it('accepts NaN, Infinity and -Infinity as numbers on /v1 and /v2 only (TF Serving and Triton read them)', () => {
    const v = parseServingJson('{"instances": [[NaN, Infinity, -Infinity, 1]]}', '/v1/models/m:predict') as { instances: number[][] };
    assert.ok(Number.isNaN(v.instances[0]![0]));
    assert.equal(v.instances[0]![1], Infinity);
    assert.equal(v.instances[0]![2], -Infinity);
    assert.equal(v.instances[0]![3], 1);
    const v2 = parseServingJson('{"inputs": [{"data": [NaN, -Infinity]}]}', '/v2/models/m/infer') as { inputs: Array<{ data: number[] }> };
    assert.ok(Number.isNaN(v2.inputs[0]!.data[0]));
    assert.equal(v2.inputs[0]!.data[1], -Infinity);
    badRequest(() => parseServingJson('{"records": [Infinity]}', '/api/models/m/predict'), /^body: not valid JSON/);
  });

  it('leaves the tokens alone inside strings, escaped quotes included', () => {
    const v = parseJsonWithNonFinite('{"s": "NaN \\" Infinity -Infinity", "x": [NaN, "a\\\\", -Infinity]}') as { s: string; x: unknown[] };
    assert.equal(v.s, 'NaN " Infinity -Infinity');
    assert.ok(Number.isNaN(v.x[0]));
    assert.equal(v.x[1], 'a\\');
    assert.equal(v.x[2], -Infinity);
  });

  it('still refuses what TF Serving refuses: other JSON5 syntax, NaN as a key, glued tokens', () => {
    badRequest(() => parseServingJson("{'instances': [NaN]}", '/v1/models/m:predict'), /not valid JSON/);
    badRequest(() => parseServingJson('{"instances": [NaN,]}', '/v1/models/m:predict'), /not valid JSON/);
    badRequest(() => parseServingJson('{"instances": [NaN] /* c */}', '/v1/models/m:predict'), /not valid JSON/);
    badRequest(() => parseServingJson('{NaN: 1}', '/v1/models/m:predict'), /not valid JSON/);
    badRequest(() => parseServingJson('[NaNa]', '/v1/models/m:predict'), /not valid JSON/);
    badRequest(() => parseServingJson('[--Infinity]', '/v1/models/m:predict'), /not valid JSON/);
  });

  it('caps the nesting depth before parsing and names the limit', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    assert.deepEqual(parseServingJson(deep(64), '/v2/models/m/infer', 64) as unknown[], JSON.parse(deep(64)));
    badRequest(
      () => parseServingJson(deep(65), '/v2/models/m/infer', 64),
      /^body: JSON nesting depth exceeds maximum allowed limit \(64\)$/,
    );
    badRequest(() => parseServingJson(`{"a": ${deep(100_000)}}`, '/v1/models/m:predict'), /exceeds maximum allowed limit \(100\)/);
    // brackets inside strings do not count
    assert.equal(jsonDepthExceeds(`{"a": "${'['.repeat(100)}", "b": "\\"[[["}`, 2), false);
    assert.equal(jsonDepthExceeds('{"a": "x\\\\", "b": [[1]]}', 2), true);
    assert.equal(jsonDepthExceeds('{"a": {"b": [1]}}', 3), false);
  });

  it('keeps the prototype-poisoning guard on both paths', () => {
    badRequest(() => parseServingJson('{"__proto__": {"admin": true}}', '/api/x'), /forbidden prototype property/);
    badRequest(() => parseServingJson('{"a": NaN, "__proto__": {"admin": true}}', '/v1/models/m:predict'), /forbidden prototype property/);
    badRequest(() => parseServingJson('{"constructor": {"prototype": {"x": 1}}}', '/v2/x'), /forbidden prototype property/);
  });

  it('knows the serving paths (their form-encoded bodies are read as JSON)', () => {
    for (const p of ['/v1', '/v1/models/m:predict', '/v2', '/v2/models/m/infer']) {
      assert.equal(isServingPath(p), true, p);
      assert.equal(dialects.forPath(p)?.formIsJson, true, p);
    }
    for (const p of ['/api/models/m/predict', '/v10/x', '/v2x', '/health/ready']) {
      assert.equal(isServingPath(p), false, p);
      assert.equal(dialects.forPath(p), undefined, p);
    }
  });

  it('reads an empty /v2 body as {} (as Triton does) and refuses an empty /v1 body', () => {
    assert.deepEqual(parseServingJson('', '/v2/repository/index'), {});
    badRequest(() => parseServingJson('', '/v1/models/m:predict'), /^body: empty/);
  });
});
