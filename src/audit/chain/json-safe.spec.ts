import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { escapeStrings, escapeText, toJsonSafe, unescapeStrings, unescapeText } from './json-safe';

/** What PostgreSQL text / jsonb refuse. */
const UNSAFE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('the stored-form escaping of audit strings', () => {
  it('round-trips every JS string exactly and leaves nothing PostgreSQL refuses (property, seeded)', () => {
    const hostile = fc.constantFrom('\0', '\uD800', '\uDC00', '\uE000', '\uE0000041', '😀', 'a', '\uFFFD');
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const text = fc.oneof(
      fc.string({ unit: codeUnit }),
      fc.array(hostile).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(text, (s) => {
        const stored = escapeText(s);
        assert.ok(!UNSAFE.test(stored), JSON.stringify(stored));
        assert.equal(unescapeText(stored), s);
      }),
      { seed: 10, numRuns: 2000 },
    );
  });

  it('leaves ordinary strings as they are', () => {
    for (const s of ['', 'Biscoe', 'é 😀 \uFFFD', 'back\\slash "q"']) assert.equal(escapeText(s), s);
  });

  it('escapes keys and nested values; unescapeStrings inverts it', () => {
    const v = { 'k\0': ['\uD800', { __proto__x: '\uE000' }], n: 1, b: true, z: null };
    const stored = escapeStrings(v);
    assert.ok(!UNSAFE.test(JSON.stringify(stored).replace(/\\u[0-9a-f]{4}/g, (e) => String.fromCharCode(parseInt(e.slice(2), 16)))));
    assert.deepEqual(unescapeStrings(stored), v);
    const proto = JSON.parse('{"__proto__": "\\u0000"}');
    assert.deepEqual(Object.keys(escapeStrings(proto)), ['__proto__']);
  });

  it('toJsonSafe keeps the value JSON can carry: non-finite numbers as strings, typed arrays as arrays', () => {
    assert.deepEqual(toJsonSafe({ a: [NaN, Infinity, -Infinity, 1], t: new Float32Array([1, 2]), d: new Date(0), u: undefined }), {
      a: ['NaN', 'Infinity', '-Infinity', 1],
      t: [1, 2],
      d: '1970-01-01T00:00:00.000Z',
    });
    assert.deepEqual(toJsonSafe(new Float32Array([NaN, -Infinity, 0.5, -0])), ['NaN', '-Infinity', 0.5, -0]);
    assert.deepEqual(toJsonSafe(new BigInt64Array([-5n])), ['-5']);
    assert.deepEqual(toJsonSafe(new DataView(new ArrayBuffer(4))), []);
  });

  it('copies only what changes: clean values come back as they are, a changed one leaves the original untouched', () => {
    const clean = { a: [1, 'x', { b: null, é: '😀' }], c: true };
    assert.equal(escapeStrings(clean), clean);
    assert.equal(unescapeStrings(clean), clean);
    const dirty = { a: [1, 'x', { b: 'n\0' }], c: 'y' };
    const snapshot = structuredClone(dirty);
    const stored = escapeStrings(dirty);
    assert.notEqual(stored, dirty);
    assert.deepEqual(dirty, snapshot);
    assert.deepEqual(stored, { a: [1, 'x', { b: 'n\ue0000000' }], c: 'y' });
    assert.equal(stored.c, dirty.c);
  });
});
