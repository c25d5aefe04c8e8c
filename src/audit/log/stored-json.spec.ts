import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, unescapeStrings } from '../chain';
import { cleanText, storedJson, storedParsedJson } from './stored-json';

describe('storedJson', () => {
  it('turns non-finite numbers and BigInts into strings, so the value has a JSON form', () => {
    const s = storedJson([{ name: 'x', data: [1, NaN, Infinity, -Infinity, -0, 1e21] }, { n: 10n }]);
    assert.deepEqual(s.value, [{ name: 'x', data: [1, 'NaN', 'Infinity', '-Infinity', 0, 1e21] }, { n: '10' }]);
    assert.equal(s.text, JSON.stringify(s.value));
    assert.doesNotThrow(() => canonicalJson(s.value));
  });

  it('escapes NUL and unpaired surrogates (which jsonb refuses) in strings and keys, reversibly, keeps valid pairs', () => {
    const original = { 'a\0b': 'x\0y', lone: '\uD800z', pair: '😀', low: 'q\uDC00' };
    const s = storedJson(original);
    assert.deepEqual(s.value, { 'a\uE0000000b': 'x\uE0000000y', lone: '\uE000d800z', pair: '😀', low: 'q\uE000dc00' });
    assert.ok(!/\\u0000|\\ud8|\\udc/i.test(s.text!));
    assert.deepEqual(unescapeStrings(s.value), original);
  });

  it('keeps a "__proto__" key as data, applies toJSON, and maps nothing to SQL NULL', () => {
    const s = storedJson(JSON.parse('{"__proto__": {"x": 1}, "k": [{"__proto__": "\\u0000"}]}'));
    assert.equal(s.text, '{"__proto__":{"x":1},"k":[{"__proto__":"\uE0000000"}]}');
    assert.deepEqual(storedJson({ t: new Date(0) }).value, { t: '1970-01-01T00:00:00.000Z' });
    for (const v of [undefined, null]) assert.deepEqual(storedJson(v), { text: null, value: null });
  });

  it('cleanText leaves ordinary and already escaped text untouched', () => {
    for (const s of ['plain é 😀', 'a\uE0000000b']) assert.equal(cleanText(s), s);
    assert.equal(cleanText('\0'), '\uE0000000');
  });

  it('storedParsedJson stores what storedJson stores for parsed JSON, as canonical text, without a copy when nothing needs it', () => {
    const texts = [
      '[{"b":1.5,"a":"é😀","c":[null,true,{"__proto__":2}]}]',
      '{"k":"x\\u0000y"}',
      '["\\ud800","\\udc00z"]',
      '{"z":"a\ue0000000","y":1}',
      '"s"',
      '0',
    ];
    for (const t of texts) {
      const v = JSON.parse(t) as unknown;
      const parsed = storedParsedJson(v);
      const reference = storedJson(v);
      assert.deepEqual(parsed.value, reference.value, t);
      // the same jsonb value, in canonical form
      assert.deepEqual(JSON.parse(parsed.text!), JSON.parse(reference.text!), t);
      assert.equal(parsed.text, canonicalJson(parsed.value), t);
      // the canonical JSON of the original value, when it is the text itself (no escaped string)
      if (parsed.canonical !== undefined) assert.equal(parsed.canonical, canonicalJson(unescapeStrings(parsed.value)), t);
      else assert.ok(parsed.text!.includes('\ue000') || reference !== parsed, t);
    }
    assert.equal(storedParsedJson(JSON.parse(texts[3]!)).canonical, undefined, 'an escaped string: the hash needs the unescaped text');
    assert.equal(storedParsedJson(JSON.parse(texts[0]!)).canonical, '[{"a":"é😀","b":1.5,"c":[null,true,{"__proto__":2}]}]');
    const clean = JSON.parse(texts[0]!) as unknown;
    assert.equal(storedParsedJson(clean).value, clean);
    assert.deepEqual(storedParsedJson(null), { text: null, value: null });
  });
});
