import type { Job, Queue } from 'bullmq';
import { eventually } from './test-kiln';

/**
 * Waits until job `id` has completed and returns it as read after completion. A job object read
 * while the job was still active keeps `returnvalue: null` even when `getState()` later says
 * 'completed', so the state is checked first and the job is read again afterwards.
 */
export async function completedJob(queue: Queue, id: string): Promise<Job> {
  return eventually(async () => {
    const state = await queue.getJobState(id);
    return state === 'completed' ? await queue.getJob(id) : undefined;
  });
}
