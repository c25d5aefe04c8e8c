import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Job, Queue } from 'bullmq';
import { QueueName } from '../../contracts';

export type JobCounts = Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed' | 'prioritized', number>;

/** Read-only view over every queue: depth for metrics and health, and waiting for a job's outcome. */
@Injectable()
export class QueueInspector {
  constructor(private readonly moduleRef: ModuleRef) {}

  queue(name: QueueName): Queue {
    return this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
  }

  async counts(name: QueueName): Promise<JobCounts> {
    const c = await this.queue(name).getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    return c as JobCounts;
  }

  /** Round trip to the queue backend; throws when it cannot be reached. */
  async ping(): Promise<void> {
    await this.queue(QueueName.Platform).getJobCounts('waiting');
  }

  /**
   * Waits until the job completes (returns its result) or fails for good (throws its reason).
   * Polls the job's state, which works the same on every backend and needs no extra connection.
   */
  async waitForResult<R>(name: QueueName, id: string, timeoutMs: number, pollMs = 25): Promise<R> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job: Job | undefined = await this.queue(name).getJob(id);
      if (!job) throw new Error(`job ${id} not found on queue ${name}`);
      const state = await job.getState();
      if (state === 'completed') {
        // `job` was read before the state: read it again so the return value is there.
        const done = await this.queue(name).getJob(id);
        return done?.returnvalue as R;
      }
      if (state === 'failed') throw new Error(`job ${id} failed: ${job.failedReason}`);
      if (Date.now() > deadline) throw new Error(`job ${id} did not finish within ${timeoutMs} ms (state ${state})`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
