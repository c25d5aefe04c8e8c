/**
 * The training queue's worker options come from the validated configuration (KILN_TRAINING_CONCURRENCY,
 * KILN_TRAINING_LOCK_MS), not from the environment at import time: two Kilns in one process with
 * different values each get their own, on the BullMQ worker itself.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { TrainProcessor } from '../../src/training/train.processor';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('training worker options (configuration "postgres")', { skip }, () => {
    const kilns: TestKiln[] = [];
    after(async () => {
      for (const k of kilns) await k.close();
    });

    it('reach the training queue worker, per app', async () => {
      const [configured, defaults] = await Promise.all([
        startTestKiln('postgres', { KILN_ROLES: 'training', KILN_TRAINING_CONCURRENCY: '3', KILN_TRAINING_LOCK_MS: '4000' }),
        startTestKiln('postgres', { KILN_ROLES: 'training' }),
      ]);
      kilns.push(configured, defaults);
      const options = (k: TestKiln) => {
        const worker = k.app.get(TrainProcessor).worker;
        return { concurrency: worker.concurrency, lockDuration: worker.opts.lockDuration, stalledInterval: worker.opts.stalledInterval };
      };
      assert.deepEqual(options(configured), { concurrency: 3, lockDuration: 4000, stalledInterval: 4000 });
      assert.deepEqual(options(defaults), { concurrency: 1, lockDuration: 30_000, stalledInterval: 30_000 });
    });
  });
}

void main();
