import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { AuditSink } from './audit-sink';
import type { KilnConfig } from '../platform/config/kiln-config';

const sink = (payloads: 'full' | 'hash') => new AuditSink(null as never, { audit: { enabled: true, payloads } } as KilnConfig);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('AuditSink.payload', () => {
  it('keeps the inputs and leaves the hash to the writer in full mode', () => {
    assert.deepEqual(sink('full').payload([{ a: 1 }], true), { inputs: [{ a: 1 }], inputsSha256: null });
  });

  it('always gives a hash when there are no inputs to store (the writer needs one)', () => {
    assert.deepEqual(sink('full').payload(null), { inputs: null, inputsSha256: sha('null') });
  });

  it('stores only the hash of the JSON-safe inputs in hash mode', () => {
    const out = sink('hash').payload([{ x: NaN, t: new Float32Array([1, 2]) }]);
    assert.equal(out.inputs, null);
    assert.equal(out.inputsSha256, sha(JSON.stringify([{ x: 'NaN', t: [1, 2] }])));
  });

  it('makes typed arrays and non-finite numbers JSON-safe unless told the inputs are parsed JSON', () => {
    assert.deepEqual(sink('full').payload({ d: new Int32Array([3]), v: Infinity }).inputs, { d: [3], v: 'Infinity' });
  });
});
