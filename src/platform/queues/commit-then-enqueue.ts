/**
 * Commit, enqueue, undo: the one way a management call creates work for a queue (training jobs,
 * batch predictions, on-demand drift checks). The database and the queue are two stores (the queue
 * may be Redis), so there is no transaction across both; this keeps them from disagreeing:
 *
 * 1. commit — the change (e.g. the job's row) and its admin events in ONE transaction; the events are
 *    held in the outbox (`held_until`), so the relay does not move them to the audit log yet;
 * 2. enqueue — the queue job, under its deterministic id;
 * 3. queued — the events are released (the request's relay moves them before the answer); or
 *    not queued — ONE transaction undoes the change and deletes the held events, and the call fails.
 *    An add that failed after the backend stored the job (a lost reply) is seen by looking the job up
 *    and counts as queued.
 *
 * So an enqueue failure leaves no row and no event, and a relay pass between 1 and 3 never moves an
 * event of a change that is then undone. A process killed between 1 and 3 leaves held events; the
 * hold expires after EVENT_HOLD_MS and they are relayed then (the change stayed committed), and a job
 * row left waiting without its queue job is queued again by the orphan sweep (queued-job-row.ts).
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { DataSource, EntityManager } from 'typeorm';

/** How long a committed change's events wait for its job to be queued before they are relayed anyway. */
export const EVENT_HOLD_MS = 10 * 60_000;

export interface QueuedJob {
  queue: Queue;
  name: string;
  data: unknown;
  /** `jobId` is required: the job is looked up by it after a failed add. */
  opts: JobsOptions & { jobId: string };
}

export interface CommitThenEnqueue<T> {
  /** The change and its admin events (writeAdminEvent with `m`), in one transaction: what was made and the events' ids. */
  commit(m: EntityManager): Promise<{ value: T; eventIds: string[] }>;
  /** The queue job that carries out `value`. */
  job(value: T): QueuedJob;
  /** Takes the change back (the held events are deleted beside it, in the same transaction). */
  undo(m: EntityManager, value: T): Promise<void>;
}

export async function commitThenEnqueue<T>(db: DataSource, steps: CommitThenEnqueue<T>): Promise<T> {
  const { value, eventIds } = await db.transaction(async (m) => {
    const made = await steps.commit(m);
    await m.query(`UPDATE admin_event_outbox SET held_until = now() + $2 * interval '1 millisecond' WHERE event_id = ANY($1::uuid[])`, [
      made.eventIds,
      EVENT_HOLD_MS,
    ]);
    return made;
  });
  const job = steps.job(value);
  try {
    await job.queue.add(job.name, job.data, job.opts);
  } catch (e) {
    const stored = await job.queue.getJob(job.opts.jobId).catch(() => undefined);
    if (!stored) {
      // if even this fails (the database went too), the change stays committed and its events are relayed once the hold expires
      await db
        .transaction(async (m) => {
          await steps.undo(m, value);
          await m.query(`DELETE FROM admin_event_outbox WHERE event_id = ANY($1::uuid[])`, [eventIds]);
        })
        .catch(() => undefined);
      throw e;
    }
  }
  // released: the request's relay pass (or the periodic one) moves them now; if this fails, the hold expires
  await db.query(`UPDATE admin_event_outbox SET held_until = NULL WHERE event_id = ANY($1::uuid[])`, [eventIds]).catch(() => undefined);
  return value;
}
