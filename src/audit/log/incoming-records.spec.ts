import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AdminEventRecord, AuditPredictionRecord } from '../../contracts';
import { IncomingRecordError, normalizeEvent, normalizePrediction } from './incoming-records';

const prediction = (over: Partial<AuditPredictionRecord> = {}): AuditPredictionRecord => ({
  requestId: 'req-1',
  servedAt: '2025-01-02T03:04:05.678912Z',
  callerKeyId: 'k1',
  model: 'iris',
  version: 3,
  route: 'tfserving',
  kind: 'live',
  canary: false,
  status: 200,
  latencyMs: 1.25,
  rows: 1,
  inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [NaN, 1] }],
  inputsSha256: 'A'.repeat(64),
  outputs: [{ name: 'y', shape: [1], data: [Infinity] }],
  error: null,
  ...over,
});

describe('normalizePrediction', () => {
  it('truncates times to ms Dates, lowercases the digest, and makes payloads JSON-safe', () => {
    const p = normalizePrediction(prediction(), 0);
    assert.equal(p.servedAt.toISOString(), '2025-01-02T03:04:05.678Z');
    assert.equal(p.inputsSha256, 'a'.repeat(64));
    assert.deepEqual(p.inputs, [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: ['NaN', 1] }]);
    assert.equal(p.outputsJson, '[{"name":"y","shape":[1],"data":["Infinity"]}]');
    assert.equal(normalizePrediction(prediction({ inputs: null, outputs: undefined }), 0).inputsJson, null);
  });

  it('names the record and field a contract violation is about', () => {
    const cases: Array<[Partial<AuditPredictionRecord>, RegExp]> = [
      [{ requestId: '' }, /predictions\[4\]\.requestId: must not be empty/],
      [{ servedAt: 'yesterday' }, /servedAt: must be an ISO 8601 time/],
      [{ route: 'grpc' as never }, /route: must be one of/],
      [{ inputsSha256: 'abc' }, /inputsSha256/],
      [{ model: 'm'.repeat(129) }, /model: is longer than 128/],
      [{ status: 42 }, /status/],
    ];
    for (const [over, message] of cases)
      assert.throws(
        () => normalizePrediction(prediction(over), 4),
        (e: unknown) => e instanceof IncomingRecordError && message.test(e.message),
      );
  });
});

describe('normalizeEvent', () => {
  const event: AdminEventRecord = {
    eventId: '7E3C1B5A-1111-4222-8333-944455556666',
    at: '2025-01-02T03:04:05Z',
    requestId: 'r',
    actorKeyId: null,
    action: 'alias.moved',
    target: { model: 'iris', alias: 'production' },
    before: { version: 1 },
    after: undefined,
  };

  it('lowercases the event id (as uuid columns give it back) and needs an object target', () => {
    const e = normalizeEvent(event, 0);
    assert.equal(e.eventId, '7e3c1b5a-1111-4222-8333-944455556666');
    assert.equal(e.afterJson, null);
    assert.equal(e.targetJson, '{"model":"iris","alias":"production"}');
    assert.throws(() => normalizeEvent({ ...event, target: [] as never }, 2), /events\[2\]\.target: must be an object/);
    assert.throws(() => normalizeEvent({ ...event, eventId: 'nope' }, 0), /eventId: must be a UUID/);
  });
});
