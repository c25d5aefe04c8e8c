import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException } from '@nestjs/common';
import { JsonBodyDialects, JsonWithBinary, jsonDepthExceeds, parseBodyInDialect, parseJsonBody } from './json-body';

function badRequest(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof BadRequestException && pattern.test(err.message));
}

describe('platform JSON body parser and dialects', () => {
  it('picks the longest registered prefix, matching the prefix itself and what lies below it only', () => {
    const a = { formIsJson: true };
    const b = { formIsJson: false };
    const dialects = new JsonBodyDialects().register('/v1', a).register('/v1/models', b);
    assert.equal(dialects.forPath('/v1'), a);
    assert.equal(dialects.forPath('/v1/x'), a);
    assert.equal(dialects.forPath('/v1/models/m:predict'), b);
    assert.equal(dialects.forPath('/v1x'), undefined);
    assert.equal(dialects.forPath('/api/v1'), undefined);
    assert.equal(dialects.forPath('/v1/modelsx'), a, 'a longer prefix matches only at a path segment');
    const slashed = new JsonBodyDialects().register('/v2/', b);
    assert.equal(slashed.forPath('/v2/models'), b);
    assert.equal(slashed.forPath('/v2x'), undefined);
  });

  it("tries a dialect's lenient reading only when strict JSON fails and it applies, and still guards prototypes", () => {
    const lenient = { applies: (text: string) => text.includes('ONE'), parse: (text: string) => JSON.parse(text.replaceAll('ONE', '1')) };
    assert.deepEqual(parseJsonBody('[ONE]', { lenient }), [1]);
    assert.deepEqual(parseJsonBody('["ONE"]', { lenient }), ['ONE']);
    badRequest(() => parseJsonBody('[ONE]'), /^body: not valid JSON/);
    badRequest(() => parseJsonBody('[TWO]', { lenient }), /^body: not valid JSON/);
    badRequest(() => parseJsonBody('{"__proto__": {"x": ONE}}', { lenient }), /forbidden prototype property/);
  });

  it('caps the depth and refuses an empty body whatever the dialect', () => {
    badRequest(() => parseJsonBody('[[[]]]', undefined, 2), /^body: JSON nesting depth exceeds maximum allowed limit \(2\)$/);
    badRequest(() => parseJsonBody('', { formIsJson: true }), /^body: empty/);
  });

  it('measures nesting, not the count of brackets: many shallow or quoted brackets pass, one level past the cap does not', () => {
    assert.equal(jsonDepthExceeds('[[[]]]', 3), false);
    assert.equal(jsonDepthExceeds('[[[[]]]]', 3), true);
    assert.equal(jsonDepthExceeds('{"a":{"b":[{}]}}', 3), true);
    // more openers than the cap (so the count alone cannot decide), none deeper than 2
    assert.equal(jsonDepthExceeds(`[${'[],'.repeat(10)}{}]`, 2), false);
    assert.equal(jsonDepthExceeds(`["${'[[[['.repeat(5)}", {"k": "{{{{"}}]`, 2), false);
    assert.equal(jsonDepthExceeds(`["\\\\", [["x"]]]`, 2), true);
  });

  it("splits a body into JSON and bytes by the dialect's header; 0 means bytes only; a bad length is a 400 naming the header", () => {
    const dialect = { binaryHeader: 'x-json-length', maxDepth: 3 };
    const body = Buffer.concat([Buffer.from('{"a":[1]}'), Buffer.from([1, 2, 3])]);
    const split = parseBodyInDialect(body, { 'x-json-length': '9' }, dialect) as JsonWithBinary;
    assert.ok(split instanceof JsonWithBinary);
    assert.deepEqual([split.json, [...split.binary]], [{ a: [1] }, [1, 2, 3]]);
    const raw = parseBodyInDialect(body, { 'x-json-length': '0' }, dialect) as JsonWithBinary;
    assert.deepEqual([raw.json, raw.binary.length], [undefined, 12]);
    assert.deepEqual(parseBodyInDialect(Buffer.from('{"a":1}'), {}, dialect), { a: 1 });
    for (const bad of ['13', '-1', 'nine', '9.5'])
      badRequest(
        () => parseBodyInDialect(body, { 'x-json-length': bad }, dialect),
        /^x-json-length: .* must be the byte length of the JSON part/,
      );
    badRequest(() => parseBodyInDialect(Buffer.from('[[[[1]]]]'), {}, dialect), /nesting depth exceeds maximum allowed limit \(3\)/);
  });
});
