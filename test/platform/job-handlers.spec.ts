/**
 * The real job handler tables: every processor's table passes the boot-time check (its constructor
 * builds it), and together they handle every job name of src/contracts exactly once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JOB_QUEUE, JobName } from '../../src/contracts';
import { AuditProcessor } from '../../src/audit/audit.processor';
import { BatchPredictionsProcessor } from '../../src/inference/batch-predictions/batch-predictions.processor';
import { IngestProcessor } from '../../src/ingestion/ingest.processor';
import { PlatformProcessor } from '../../src/platform/queues/platform.processor';
import type { JobHandlers } from '../../src/platform/queues/job-handlers';
import { TrainProcessor } from '../../src/training/train.processor';

const PROCESSORS = [PlatformProcessor, IngestProcessor, TrainProcessor, BatchPredictionsProcessor, AuditProcessor];

describe('the job handler tables of the processors', () => {
  it('each passes the check and, together, they handle every job name exactly once', () => {
    const handled: string[] = [];
    for (const P of PROCESSORS) {
      // no dependencies: the constructors only keep them, and the table's handlers are not called here
      const table = (Reflect.construct(P, []) as { handlers: JobHandlers<never> }).handlers;
      for (const name of table.names) assert.equal(JOB_QUEUE[name as JobName], table.queue, `${P.name} handles ${name}`);
      handled.push(...table.names);
    }
    assert.deepEqual(handled.sort(), Object.values(JobName).sort());
  });
});
