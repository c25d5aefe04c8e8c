import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DRIFT_RETRAIN_ACTOR } from './drift/drift-retrain';
import { actorOf, promotionActor, SYSTEM_DRIFT_RETRAIN, SYSTEM_PROMOTION } from '../platform/audit-trail/admin-event-outbox';

describe('admin event actors', () => {
  it('a promotion is made by system:promotion, or system:drift-retrain for the jobs a drift report starts', () => {
    assert.deepEqual(promotionActor('j1', 'alice'), { requestId: 'training-job:j1', actorKeyId: SYSTEM_PROMOTION });
    assert.deepEqual(promotionActor('j2', null), { requestId: 'training-job:j2', actorKeyId: SYSTEM_PROMOTION });
    // the drift monitor's retrain jobs carry DRIFT_RETRAIN_ACTOR as createdBy
    assert.deepEqual(promotionActor('j3', DRIFT_RETRAIN_ACTOR), { requestId: 'training-job:j3', actorKeyId: SYSTEM_DRIFT_RETRAIN });
    assert.deepEqual([SYSTEM_PROMOTION, SYSTEM_DRIFT_RETRAIN], ['system:promotion', 'system:drift-retrain']);
  });

  it('an HTTP call is made by its key, under its request id', () => {
    assert.deepEqual(actorOf({ id: 'r1', principal: { keyId: 'abc' } }), { requestId: 'r1', actorKeyId: 'abc' });
    assert.deepEqual(actorOf({ id: 'r2' }), { requestId: 'r2', actorKeyId: null });
  });
});
