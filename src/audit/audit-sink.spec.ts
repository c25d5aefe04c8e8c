import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { AuditSink } from './audit-sink';
import { canonicalJson } from './chain';
import type { AuditPredictionRecord, AuditRecordBatchPayload } from '../contracts';
import type { KilnConfig } from '../platform/config/kiln-config';

const config = (payloads: 'full' | 'hash', commitsInFlight = 4) => ({ audit: { enabled: true, payloads, commitsInFlight } }) as KilnConfig;
const sink = (payloads: 'full' | 'hash') => new AuditSink(null as never, config(payloads));
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
    assert.equal(out.inputsSha256, sha(canonicalJson([{ x: 'NaN', t: [1, 2] }])));
  });

  it('makes typed arrays and non-finite numbers JSON-safe unless told the inputs are parsed JSON', () => {
    assert.deepEqual(sink('full').payload({ d: new Int32Array([3]), v: Infinity }).inputs, { d: [3], v: 'Infinity' });
  });
});

describe('AuditSink group commit', () => {
  const record = (requestId: string, island: string): AuditPredictionRecord => ({
    requestId,
    servedAt: new Date(0).toISOString(),
    callerKeyId: null,
    model: 'm',
    version: 1,
    route: 'record',
    kind: 'live',
    canary: false,
    status: 200,
    latencyMs: 1,
    rows: 1,
    inputs: [{ Island: island }],
    inputsSha256: null,
    outputs: [{ label: '\0' }],
    error: null,
  });

  it('stages strings escaped, and a batch PostgreSQL refuses fails only the record that caused it', async () => {
    const jobs: AuditRecordBatchPayload[] = [];
    const staging = {
      stage: async (payload: AuditRecordBatchPayload) => {
        if (payload.predictions!.some((p) => p.requestId === 'refused')) throw new Error('PostgreSQL refused the batch');
        jobs.push(payload);
      },
    };
    const s = new AuditSink(staging as never, config('full'));
    const outcomes = await Promise.allSettled([
      s.recordPrediction(record('a', 'x\0')),
      s.recordPrediction(record('refused', 'y')),
      s.recordPrediction(record('b', '\ud800')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const stored = jobs.flatMap((j) => j.predictions!);
    assert.deepEqual(stored.map((p) => p.requestId).sort(), ['a', 'b']);
    const text = JSON.stringify(stored);
    assert.ok(!/\\u0000|\\ud800/.test(text), text);
    assert.deepEqual(stored.find((p) => p.requestId === 'a')!.inputs, [{ Island: 'x\ue0000000' }]);
  });

  it('writes at most KILN_AUDIT_COMMITS_IN_FLIGHT group commits at once; records arriving meanwhile wait for the next', async () => {
    const turn = () => new Promise((r) => setImmediate(r));
    for (const limit of [1, 3]) {
      let running = 0;
      let most = 0;
      const releases: Array<() => void> = [];
      const staged: string[] = [];
      const staging = {
        stage: (payload: AuditRecordBatchPayload) => {
          most = Math.max(most, ++running);
          staged.push(...payload.predictions!.map((p) => p.requestId));
          return new Promise<void>((resolve) => releases.push(() => (running--, resolve())));
        },
      };
      const s = new AuditSink(staging as never, config('full', limit));
      const calls: Array<Promise<void>> = [];
      // one record per event-loop turn: each turn would start a group commit of its own if it could
      for (let i = 0; i < 6; i++) {
        calls.push(s.recordPrediction(record(`r${i}`, 'x')));
        await turn();
        await turn();
      }
      assert.equal(running, limit, `commits running with ${limit} allowed`);
      let done = false;
      void Promise.all(calls).then(() => (done = true));
      while (!done) {
        for (const release of releases.splice(0)) release();
        await new Promise((r) => setTimeout(r, 1));
      }
      assert.equal(most, limit);
      assert.deepEqual(staged.sort(), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    }
  });
});
