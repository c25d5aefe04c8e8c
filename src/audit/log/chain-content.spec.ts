import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GENESIS_HASH, canonicalJson, hashRecord, unescapeStrings } from '../chain';
import { eventContent, predictionCanonical, predictionContent, predictionDto, type StoredPrediction } from './chain-content';

const stored: StoredPrediction = {
  seq: '42',
  loggedAt: new Date('2025-01-02T03:04:05.678Z'),
  requestId: 'req-42',
  clientRequestId: null,
  servedAt: new Date('2025-01-02T03:04:05.001Z'),
  callerKeyId: null,
  model: 'iris',
  modelVersion: 2,
  route: 'record',
  kind: 'live',
  canary: true,
  status: 200,
  latencyMs: 0.5,
  rows: 1,
  inputs: [{ a: 1 }],
  inputsSha256: 'f'.repeat(64),
  outputs: [{ label: 'setosa' }],
  error: null,
  prevHash: GENESIS_HASH,
  hash: 'x',
};

describe('chain content', () => {
  it('is the same for the writer (seq number) and a row read back (bigint seq as a string)', () => {
    assert.deepEqual(predictionContent(stored), predictionContent({ ...stored, seq: 42 }));
    assert.equal(predictionContent(stored).loggedAt, '2025-01-02T03:04:05.678Z');
  });

  it('covers every column but the hashes, so any edit changes the hash', () => {
    const h = hashRecord(GENESIS_HASH, predictionContent(stored));
    const edits: Array<Partial<StoredPrediction>> = [
      { seq: '43' },
      { outputs: [{ label: 'virginica' }] },
      { latencyMs: 0.6 },
      { canary: false },
      { loggedAt: new Date(0) },
      { modelVersion: null },
    ];
    for (const edit of edits) assert.notEqual(hashRecord(GENESIS_HASH, predictionContent({ ...stored, ...edit })), h, JSON.stringify(edit));
    const other: StoredPrediction = { ...stored, prevHash: 'a'.repeat(64), hash: 'y' };
    assert.equal(hashRecord(GENESIS_HASH, predictionContent(other)), h);
  });

  it('is the API form without prevHash and hash, so an export line can be re-verified offline', () => {
    const { prevHash, hash, ...content } = predictionDto(stored);
    assert.deepEqual([prevHash, hash], [stored.prevHash, stored.hash]);
    assert.deepEqual(content, predictionContent(stored));
    assert.equal(predictionContent({ ...stored, latencyMs: NaN }).latencyMs, 'NaN');
  });

  it('gives events the same treatment', () => {
    const e = {
      seq: '7',
      eventId: 'e',
      at: new Date(1),
      loggedAt: new Date(2),
      requestId: null,
      actorKeyId: 'k',
      action: 'key.created',
      target: { id: 1 },
      before: undefined,
      after: null,
    };
    assert.deepEqual(eventContent(e), {
      seq: 7,
      eventId: 'e',
      at: '1970-01-01T00:00:00.001Z',
      loggedAt: '1970-01-01T00:00:00.002Z',
      requestId: null,
      actorKeyId: 'k',
      action: 'key.created',
      target: { id: 1 },
      before: null,
      after: null,
    });
  });

  it('assembles the same canonical text from the canonical inputs as from the whole content, whatever the strings hold', () => {
    const tricky: StoredPrediction = {
      ...stored,
      clientRequestId: '"inputs":null',
      error: 'x","inputs":null,"y":"\ue0000000',
      model: 'inputs',
      inputs: [{ '"inputs":null': 'a\ue0000000', é: [1.5, -0, 1e21, { z: null, a: 'inputs' }] }],
      outputs: [{ label: '"inputs":null' }],
    };
    for (const p of [stored, tricky, { ...stored, inputs: null }, { ...tricky, outputs: null }]) {
      const canonical = (v: unknown) => (v === null ? undefined : canonicalJson(unescapeStrings(v)));
      const whole = canonicalJson(predictionContent(p));
      assert.equal(predictionCanonical(p, { inputs: canonical(p.inputs) }), whole);
      assert.equal(predictionCanonical(p, { outputs: canonical(p.outputs) }), whole);
      assert.equal(predictionCanonical(p, { inputs: canonical(p.inputs), outputs: canonical(p.outputs) }), whole);
    }
  });
});
