import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AuditPredictionRecord, AuditRecordBatchPayload } from '../../contracts';
import { canonicalJson } from '../chain';
import { stagedNeedles, stagedPredictionDto, stagedPredictions } from './staged-predictions';

const record = (over: Partial<AuditPredictionRecord> = {}): AuditPredictionRecord => ({
  requestId: 'req-1',
  clientRequestId: 'mine',
  servedAt: '2025-01-02T03:04:05.001Z',
  callerKeyId: null,
  model: 'iris',
  version: 2,
  route: 'record',
  kind: 'live',
  canary: false,
  status: 200,
  latencyMs: 0.5,
  rows: 1,
  inputs: [{ island: 'Dream\u0000' }],
  inputsSha256: null,
  outputs: [{ label: 'setosa' }],
  error: null,
  ...over,
});

describe('staged predictions', () => {
  it('a staged batch is found by the JSON text of the member searched for, as AuditSink stages it', () => {
    const batch = JSON.stringify({ payloadVersion: 1, predictions: [record({ requestId: 'a"b/shadow' })], events: [] });
    const [needle] = stagedNeedles('requestId', ['a"b/shadow']);
    assert.ok(batch.includes(needle!), `${needle} in ${batch}`);
    assert.ok(!batch.includes(stagedNeedles('clientRequestId', ['a"b/shadow'])[0]!));
  });

  it('parses the prediction records of a batch, skipping what is no record', () => {
    const payload = { payloadVersion: 1, predictions: [record(), null, 7], events: [] } as unknown as AuditRecordBatchPayload;
    assert.deepEqual(
      stagedPredictions(JSON.stringify(payload)).map((r) => r.requestId),
      ['req-1'],
    );
    assert.deepEqual(stagedPredictions(JSON.stringify({ payloadVersion: 1, events: [] })), []);
  });

  it('answers a staged record as the log will hold it, not chained yet: no seq, loggedAt or hashes', () => {
    const dto = stagedPredictionDto(JSON.parse(JSON.stringify(record())) as AuditPredictionRecord)!;
    assert.deepEqual([dto.seq, dto.loggedAt, dto.prevHash, dto.hash, dto.chained], [null, null, null, null, false]);
    assert.deepEqual(dto.inputs, [{ island: 'Dream\u0000' }], 'the inputs as the model received them');
    assert.equal(
      dto.inputsSha256,
      createHash('sha256')
        .update(canonicalJson([{ island: 'Dream\u0000' }]))
        .digest('hex'),
    );
    assert.deepEqual([dto.requestId, dto.clientRequestId, dto.servedAt, dto.version], ['req-1', 'mine', '2025-01-02T03:04:05.001Z', 2]);
  });

  it('has no answer for a record breaking the contract (the chainer refuses it; it will never be logged)', () => {
    assert.equal(stagedPredictionDto(record({ servedAt: 'yesterday' })), null);
    assert.equal(stagedPredictionDto(record({ route: 'carrier-pigeon' as never })), null);
  });
});
