/**
 * A typed job-name → handler table per queue, checked when it is built (at boot: a processor builds
 * its table in its constructor, so a bad table stops start-up with the message below).
 *
 * The check: every job name that src/contracts sends on the queue has exactly one handler, and no
 * handler is for a job sent on another queue. The payload and result types come from JobContracts,
 * so a handler cannot disagree with its producers (after immich's JobItem/JobOf and the handler
 * check in its job repository's setup()).
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { JOB_QUEUE, JobName, type JobContracts, type JobPayload, type JobResult, type QueueName } from '../../contracts';

/** The job names src/contracts sends on queue Q. */
export type JobNameOn<Q extends QueueName> = { [N in JobName]: JobContracts[N]['queue'] extends Q ? N : never }[JobName];

export type JobHandler<N extends JobName> = (job: Job<JobPayload<N>, JobResult<N>, N>) => Promise<JobResult<N>>;

/** One row of a queue's table: a job name of that queue and its handler, typed by the name. */
export type JobHandlerEntry<Q extends QueueName> = { [N in JobNameOn<Q>]: { name: N; handle: JobHandler<N> } }[JobNameOn<Q>];

/** Why a queue's handler table was refused; the message lists every problem. */
export class JobHandlersError extends Error {
  constructor(
    readonly queue: QueueName,
    readonly problems: string[],
  ) {
    super(`job handlers of queue ${queue}: ${problems.join('; ')} (the jobs of each queue are listed in src/contracts/queues.ts)`);
    this.name = 'JobHandlersError';
  }
}

/** Throws JobHandlersError unless every job of `queue` has exactly one entry and every entry is a job of `queue`. */
export function checkJobHandlers(queue: QueueName, entries: ReadonlyArray<{ name: string }>): void {
  const problems: string[] = [];
  const count = new Map<string, number>();
  for (const { name } of entries) count.set(name, (count.get(name) ?? 0) + 1);
  for (const [name, n] of count) {
    const sentOn = (JOB_QUEUE as Record<string, QueueName | undefined>)[name];
    if (sentOn === undefined) problems.push(`${JSON.stringify(name)} is not a job name`);
    else if (sentOn !== queue) problems.push(`job ${name} has a handler here but is sent on queue ${sentOn}`);
    if (n > 1) problems.push(`job ${name} has ${n} handlers, exactly one expected`);
  }
  for (const name of Object.values(JobName)) {
    if (JOB_QUEUE[name] === queue && !count.has(name)) problems.push(`job ${name} has no handler`);
  }
  if (problems.length > 0) throw new JobHandlersError(queue, problems);
}

/** A queue's checked table; `dispatch` hands each job to the handler of its name. */
export class JobHandlers<Q extends QueueName> {
  private readonly byName: ReadonlyMap<string, (job: Job) => Promise<unknown>>;

  constructor(
    readonly queue: Q,
    entries: ReadonlyArray<JobHandlerEntry<Q>>,
  ) {
    checkJobHandlers(queue, entries);
    this.byName = new Map(entries.map((e) => [e.name, e.handle as (job: Job) => Promise<unknown>]));
  }

  /** The job names this table handles. */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  handles(name: string): boolean {
    return this.byName.has(name);
  }

  /** A job name the table does not know (a producer outside Kiln, a newer release) fails without retries. */
  async dispatch(job: Job): Promise<JobResult<JobNameOn<Q>>> {
    const handle = this.byName.get(job.name);
    if (!handle) throw new UnrecoverableError(`no handler for job ${JSON.stringify(job.name)} on queue ${this.queue}`);
    return handle(job) as Promise<JobResult<JobNameOn<Q>>>;
  }
}
