/** Unit tests of the job-name → handler table check (the real tables: test/platform/job-handlers.spec.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobName, QueueName } from '../../contracts';
import { checkJobHandlers, JobHandlers, JobHandlersError, type JobHandlerEntry } from './job-handlers';

const unused = (): never => {
  throw new Error('not called');
};

describe('job handler tables', () => {
  it('accepts a table with exactly one handler per job of the queue', () => {
    const entries: JobHandlerEntry<QueueName.Audit>[] = [
      { name: JobName.AuditRecordBatch, handle: unused },
      { name: JobName.AuditDriftCheck, handle: unused },
      { name: JobName.AuditRetention, handle: unused },
    ];
    assert.doesNotThrow(() => checkJobHandlers(QueueName.Audit, entries));
    const names = new JobHandlers(QueueName.Audit, entries).names.sort();
    assert.deepEqual(names, [JobName.AuditDriftCheck, JobName.AuditRecordBatch, JobName.AuditRetention]);
  });

  it('refuses a queue with a job name lacking a handler, naming the job', () => {
    const entries = [{ name: JobName.AuditRecordBatch }, { name: JobName.AuditRetention }];
    assert.throws(
      () => checkJobHandlers(QueueName.Audit, entries),
      (e: unknown) => e instanceof JobHandlersError && e.problems.length === 1 && /job audit\.drift-check has no handler/.test(e.message),
    );
    assert.throws(() => new JobHandlers(QueueName.Training, []), /job handlers of queue training: job training\.run-job has no handler/);
  });

  it('refuses a job with two handlers', () => {
    const entries = [{ name: JobName.TrainingRunJob }, { name: JobName.TrainingRunJob }];
    assert.throws(() => checkJobHandlers(QueueName.Training, entries), /job training\.run-job has 2 handlers, exactly one expected/);
  });

  it('refuses a handler for a job sent on another queue, or for an unknown name', () => {
    const entries = [{ name: JobName.TrainingRunJob }, { name: JobName.PlatformPing }, { name: 'training.nonsense' }];
    assert.throws(
      () => checkJobHandlers(QueueName.Training, entries),
      (e: unknown) =>
        e instanceof JobHandlersError &&
        e.problems.includes('job platform.ping has a handler here but is sent on queue platform') &&
        e.problems.includes('"training.nonsense" is not a job name'),
    );
  });

  it('dispatches by job name; an unknown name fails without retries', async () => {
    const table = new JobHandlers(QueueName.Platform, [
      { name: JobName.PlatformPing, handle: async (job) => ({ message: job.data.message, answeredBy: 'test', answeredAt: 'now' }) },
    ]);
    const ping = { name: JobName.PlatformPing, data: { payloadVersion: 1, message: 'hi' } };
    assert.equal((await table.dispatch(ping as never)).message, 'hi');
    await assert.rejects(table.dispatch({ name: 'platform.other', data: {} } as never), (e: unknown) => {
      return e instanceof Error && e.name === 'UnrecoverableError' && e.message === 'no handler for job "platform.other" on queue platform';
    });
  });
});
