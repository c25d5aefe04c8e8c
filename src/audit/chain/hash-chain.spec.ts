import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { buildChain, type ChainRecord, GENESIS_HASH, hashRecord, verifyChain } from './hash-chain';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function sampleChain(n = 6): ChainRecord[] {
  return buildChain(
    Array.from({ length: n }, (_, i) => ({
      id: `req-${i}`,
      content: {
        requestId: `req-${i}`,
        time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
        model: { name: 'iris', version: 3 },
        inputs: [[5.1, 3.5, 1.4, 0.2 + i / 10]],
        outputs: { label: i % 2 ? 'setosa' : 'virginica', p: 0.9 },
        latencyMs: 1.5 + i,
        canary: false,
      },
    })),
  );
}

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys at every level, drops whitespace and undefined members', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, u: undefined }),
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    assert.equal(canonicalJson({ b: 1, a: 2 }), canonicalJson({ a: 2, b: 1 }));
  });

  it('follows the RFC 8785 rules for numbers, strings and key order', () => {
    // Key order is by UTF-16 code units (RFC 8785 §3.2.3): "\r" < "1" < "a" < "€".
    assert.equal(canonicalJson({ '€': 1, a: 2, '1': 3, '\r': 4 }), '{"\\r":4,"1":3,"a":2,"€":1}');
    // ECMAScript number serialisation (RFC 8785 §3.2.2.3).
    assert.equal(canonicalJson([-0, 1e21, 1e-7, 0.1 + 0.2, 100]), '[0,1e+21,1e-7,0.30000000000000004,100]');
    assert.equal(canonicalJson('é\n"'), '"é\\n\\""');
    assert.equal(canonicalJson({ t: new Date(0) }), '{"t":"1970-01-01T00:00:00.000Z"}');
  });

  it('rejects values without a JSON form', () => {
    assert.throws(() => canonicalJson({ x: NaN }));
    assert.throws(() => canonicalJson({ x: Infinity }));
    assert.throws(() => canonicalJson(undefined));
  });
});

describe('hashRecord', () => {
  it('is SHA-256 hex over prevHash followed by the canonical content', () => {
    const content = { b: [1, 2], a: 'x' };
    assert.equal(hashRecord(GENESIS_HASH, content), sha256(GENESIS_HASH + '{"a":"x","b":[1,2]}'));
    assert.equal(GENESIS_HASH, '0'.repeat(64));
    // Known SHA-256 test vector: SHA-256("abc") (FIPS 180-2, appendix B.1); here via a string content.
    assert.equal(sha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('does not depend on key order, but on every value and on the previous hash', () => {
    const h = hashRecord(GENESIS_HASH, { a: 1, b: 2 });
    assert.equal(hashRecord(GENESIS_HASH, { b: 2, a: 1 }), h);
    assert.notEqual(hashRecord(GENESIS_HASH, { a: 1, b: 3 }), h);
    assert.notEqual(hashRecord('f'.repeat(64), { a: 1, b: 2 }), h);
    assert.throws(() => hashRecord('not-a-hash', {}), TypeError);
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain, an empty chain, and a slice anchored on its predecessor', () => {
    const chain = sampleChain();
    assert.deepEqual(verifyChain(chain), { ok: true, checked: 6 });
    assert.deepEqual(verifyChain([]), { ok: true, checked: 0 });
    assert.deepEqual(verifyChain(chain.slice(2, 5), { previousHash: chain[1].hash }), { ok: true, checked: 3 });
    assert.deepEqual(verifyChain(chain.slice(2, 5), { previousHash: null }), { ok: true, checked: 3 });
    // a slice does not link to genesis
    assert.equal(verifyChain(chain.slice(2, 5)).ok, false);
  });

  it('survives a JSON round trip of the stored records (as through a jsonb column)', () => {
    const chain = JSON.parse(JSON.stringify(sampleChain())) as ChainRecord[];
    assert.equal(verifyChain(chain).ok, true);
  });

  it('finds an edited record at its index', () => {
    for (const k of [0, 3, 5]) {
      const chain = structuredClone(sampleChain());
      (chain[k].content as { outputs: { label: string } }).outputs.label = 'tampered';
      const result = verifyChain(chain);
      assert.equal(result.ok, false);
      assert.ok(!result.ok);
      assert.deepEqual(result.firstBroken, {
        index: k,
        id: `req-${k}`,
        reason: 'hash_mismatch',
        expected: hashRecord(chain[k].prevHash, chain[k].content),
        actual: chain[k].hash,
      });
      assert.equal(result.checked, k + 1);
    }
  });

  it('an edit whose hash was recomputed breaks the link to the next record', () => {
    const chain = sampleChain();
    const k = 2;
    (chain[k].content as { latencyMs: number }).latencyMs = 0;
    chain[k].hash = hashRecord(chain[k].prevHash, chain[k].content);
    const result = verifyChain(chain);
    assert.ok(!result.ok);
    assert.equal(result.firstBroken.index, k + 1);
    assert.equal(result.firstBroken.reason, 'prev_hash_mismatch');
    assert.equal(result.firstBroken.expected, chain[k].hash);
    assert.equal(result.firstBroken.actual, chain[k + 1].prevHash);
  });

  it('detects a deleted record', () => {
    const chain = sampleChain();
    chain.splice(3, 1);
    const result = verifyChain(chain);
    assert.ok(!result.ok);
    assert.deepEqual([result.firstBroken.index, result.firstBroken.id, result.firstBroken.reason], [3, 'req-4', 'prev_hash_mismatch']);
    // deleting the first record: the new head does not link to genesis
    const headless = sampleChain().slice(1);
    const r2 = verifyChain(headless);
    assert.ok(!r2.ok);
    assert.deepEqual([r2.firstBroken.index, r2.firstBroken.expected], [0, GENESIS_HASH]);
  });

  it('detects reordered records', () => {
    const chain = sampleChain();
    [chain[2], chain[3]] = [chain[3], chain[2]];
    const result = verifyChain(chain);
    assert.ok(!result.ok);
    assert.deepEqual([result.firstBroken.index, result.firstBroken.id, result.firstBroken.reason], [2, 'req-3', 'prev_hash_mismatch']);
    assert.equal(result.checked, 3);
  });

  it('detects an inserted record and a forged hash value', () => {
    const chain = sampleChain();
    const forged = { id: 'forged', prevHash: chain[1].hash, content: { x: 1 }, hash: hashRecord(chain[1].hash, { x: 1 }) };
    const inserted = [...chain.slice(0, 2), forged, ...chain.slice(2)];
    const r = verifyChain(inserted);
    assert.ok(!r.ok);
    assert.equal(r.firstBroken.index, 3);

    const bad = sampleChain();
    bad[4].hash = 'nonsense';
    const r2 = verifyChain(bad);
    assert.ok(!r2.ok);
    assert.deepEqual([r2.firstBroken.index, r2.firstBroken.reason, r2.firstBroken.actual], [4, 'hash_mismatch', 'nonsense']);
  });
});
