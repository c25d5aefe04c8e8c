/**
 * The queued-job-row kit: the row that is a queued job's source of truth (training jobs, batch
 * predictions, dataset versions). The queue job carries only the row id; status, attempts,
 * timestamps and cancellation live on the row, and every domain moves them the same way here.
 *
 * The columns are inherited from an abstract class (TypeORM picks up the columns of a non-entity
 * parent class) rather than an embedded entity: same column names, so no migration, and the
 * properties stay flat (`row.status`), so the API DTOs, where-clauses and raw SQL of the three
 * domains read as before.
 *
 * Platform code: it knows no domain. A domain gives its repository, its noun (for messages) and,
 * when its statuses differ from `queued/running/…`, which of its statuses mean waiting/active/failed.
 */
import { ConflictException, NotFoundException } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import {
  Column,
  CreateDateColumn,
  In,
  PrimaryColumn,
  UpdateDateColumn,
  type EntityManager,
  type FindOptionsOrder,
  type FindOptionsSelect,
  type FindOptionsWhere,
  type Repository,
} from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { QueuedJob } from './commit-then-enqueue';

/** How often a running job's row is polled for a cancel request. */
export const CANCEL_POLL_MS = 250;

/** The columns every queued-job row has. Column names match the migrations of all three tables. */
export abstract class JobRowColumns<S extends string = string> {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: S;

  /** Processing attempts started (retries included). */
  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Set by the first claim; a retry keeps it. */
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

export type QueuedJobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const FINAL_JOB_STATUSES: readonly QueuedJobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** A job a user can cancel, failing with a code and a message (training jobs, batch predictions). */
export abstract class CancellableJobColumns extends JobRowColumns<QueuedJobStatus> {
  @Column({ name: 'cancel_requested', type: 'boolean', default: false })
  cancelRequested!: boolean;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;
}

/** Which of a row's statuses mean: waiting for a worker, held by one (or by one that crashed), failed for good. */
export interface JobRowStates<S extends string> {
  waiting: S;
  active: S;
  failed: S;
}

export const QUEUED_JOB_STATES: JobRowStates<QueuedJobStatus> = { waiting: 'queued', active: 'running', failed: 'failed' };

/** True when this attempt is the queue job's last: a failure now is final and goes on the row. */
export function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/*
 * The kit is generic in the row type, so TypeORM's mapped types cannot see that a literal naming only
 * JobRowColumns / CancellableJobColumns fields fits every T: these two helpers are the one place that says so.
 */
function rowWhere<T>(w: Record<string, unknown>): FindOptionsWhere<T> {
  return w as unknown as FindOptionsWhere<T>;
}
function rowPatch<T>(p: Record<string, unknown>): QueryDeepPartialEntity<T> {
  return p as unknown as QueryDeepPartialEntity<T>;
}

/** The services' own pattern (any version nibble), not class-validator's isUUID: which ids reach the database stays as it was. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How long a waiting row may lack its queue job before it counts as orphaned (the normal gap is milliseconds). */
export const ORPHAN_GRACE_MS = 60_000;

/**
 * Runs `sweep` (a `requeueOrphans` pass) now and then every `intervalMs` until the returned function is
 * called; a pass that fails (database down) is logged and the next one tries again.
 */
export function sweepOrphansPeriodically(
  logger: { log(m: string): void; warn(m: string): void },
  noun: string,
  sweep: () => Promise<string[]>,
  intervalMs = ORPHAN_GRACE_MS,
): () => void {
  const pass = (): void => {
    sweep().then(
      (ids) => {
        if (ids.length) logger.log(`queued again ${ids.length} ${noun}(s) left without a queue job by a crash: ${ids.join(', ')}`);
      },
      (e: unknown) => logger.warn(`orphaned ${noun} sweep failed, next pass in ${intervalMs} ms: ${(e as Error)?.message ?? String(e)}`),
    );
  };
  pass();
  const timer = setInterval(pass, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** A domain's job rows: the worker's claim and mark failed, the service's get and list. */
export class JobRows<T extends JobRowColumns> {
  constructor(
    readonly repo: Repository<T>,
    /** How messages name one row: `training job`, `batch prediction`, … */
    readonly noun: string,
    readonly states: JobRowStates<T['status']>,
  ) {}

  /** Final: neither waiting nor active. A worker only reports a final row (a replay changes nothing). */
  isFinished(row: Pick<T, 'status'>): boolean {
    return row.status !== this.states.waiting && row.status !== this.states.active;
  }

  /** A row still waiting or active (a final row is never changed by a worker again). */
  protected unfinished(id: string): FindOptionsWhere<T> {
    return rowWhere<T>({ id, status: In([this.states.waiting, this.states.active]) });
  }

  /** What else a claim requires of the row. */
  protected claimable(id: string): FindOptionsWhere<T> {
    return this.unfinished(id);
  }

  /**
   * Claims a row for a worker: waiting (or active: a retry after a crash) → active, one more attempt,
   * `startedAt` kept from the first attempt, plus `set`. False when the row was finished (or, for a
   * cancellable row, cancelled) meanwhile: one conditional UPDATE, so two workers never both claim a
   * finished row.
   */
  async claim(id: string, set: QueryDeepPartialEntity<T> = {}): Promise<boolean> {
    const claimed = await this.repo
      .createQueryBuilder()
      .update()
      .set({
        ...set,
        ...rowPatch<T>({ status: this.states.active, attempts: () => 'attempts + 1', startedAt: () => 'COALESCE(started_at, now())' }),
      })
      .where(this.claimable(id))
      .execute();
    return !!claimed.affected;
  }

  /** Failed for good, with the domain's failure columns in `set`, unless the row is already final. */
  async markFailed(id: string, set: QueryDeepPartialEntity<T>): Promise<void> {
    await this.repo.update(this.unfinished(id), { ...set, ...rowPatch<T>({ status: this.states.failed, finishedAt: new Date() }) });
  }

  async list(limit = 100): Promise<T[]> {
    return this.repo.find({ order: { createdAt: 'DESC' } as FindOptionsOrder<T>, take: limit });
  }

  /**
   * Queues the job again (`job`: the builder its commit-then-enqueue call uses) of every row still
   * waiting `graceMs` after it was created whose queue job is
   * gone: what a process killed between commit and enqueue (commit-then-enqueue.ts) leaves behind.
   * Its client got no answer, but the row and its event are committed (the event is relayed when its
   * hold expires), so the work is carried out rather than left `queued` for ever. The job id is the
   * row's deterministic one, so a replica doing the same at once, or the original add arriving late,
   * adds nothing twice. Returns the ids queued again (at most `limit` per pass).
   */
  async requeueOrphans(job: (row: T) => QueuedJob, graceMs: number, limit = 100): Promise<string[]> {
    const waiting = await this.repo
      .createQueryBuilder('r')
      .where('r.status = :status', { status: this.states.waiting })
      .andWhere(`r.created_at < now() - :grace * interval '1 millisecond'`, { grace: graceMs })
      .orderBy('r.created_at', 'ASC')
      .take(limit)
      .getMany();
    const requeued: string[] = [];
    for (const row of waiting) {
      const { queue, name, data, opts } = job(row);
      if (await queue.getJob(opts.jobId)) continue;
      await queue.add(name, data, opts);
      requeued.push(row.id);
    }
    return requeued;
  }

  /** The row, or 404 `<noun> <id> not found` (also for an id that is not a UUID). */
  async get(id: string): Promise<T> {
    const row = UUID.test(id) ? await this.repo.findOneBy(rowWhere<T>({ id })) : null;
    if (!row) throw new NotFoundException(`${this.noun} ${id} not found`);
    return row;
  }
}

export interface CancelOptions<T> {
  /** What a running row must also satisfy to be cancellable (batch predictions: output not yet handed off). */
  runningWhere?: FindOptionsWhere<T>;
  /** Writes the admin event, in the transaction that cancels. */
  record: (m: EntityManager, after: T) => Promise<unknown>;
  /** The queue job, removed when the row was cancelled while waiting. */
  queue: Queue;
  queueJobId: string;
  /** The 409 text for a row that cannot be cancelled; default `<noun> <id> is <status> and cannot be cancelled`. */
  refusal?: (row: T) => string | undefined;
}

/** Job rows with `cancel_requested` and `error_code`/`error`: training jobs and batch predictions. */
export class CancellableJobRows<T extends CancellableJobColumns> extends JobRows<T> {
  constructor(repo: Repository<T>, noun: string) {
    super(repo, noun, QUEUED_JOB_STATES);
  }

  protected override claimable(id: string): FindOptionsWhere<T> {
    return { ...this.unfinished(id), ...rowWhere<T>({ cancelRequested: false }) };
  }

  async fail(id: string, code: string, message: string): Promise<void> {
    await this.markFailed(id, rowPatch<T>({ errorCode: code, error: message }));
  }

  /** Cancelled, unless already final (and `where` holds); `set` adds the domain's columns. */
  async markCancelled(id: string, also: { where?: FindOptionsWhere<T>; set?: QueryDeepPartialEntity<T> } = {}): Promise<void> {
    const set = { ...also.set, ...rowPatch<T>({ status: 'cancelled', finishedAt: new Date() }) };
    await this.repo.update({ ...this.unfinished(id), ...also.where }, set);
  }

  /**
   * Calls `onCancel` once a cancel request is seen on the row (polled every CANCEL_POLL_MS; a failed
   * poll is tried again at the next tick). Returns the function that stops polling.
   */
  watchCancel(id: string, onCancel: () => void): () => void {
    const poll = setInterval(() => {
      this.repo
        .findOne({ where: rowWhere<T>({ id }), select: { id: true, cancelRequested: true } as FindOptionsSelect<T> })
        .then((r) => {
          if (r?.cancelRequested) onCancel();
        })
        .catch(() => undefined);
    }, CANCEL_POLL_MS);
    return () => clearInterval(poll);
  }

  /**
   * A queued row is cancelled at once (its queue job removed when still waiting); a running one is
   * flagged and its worker stops at its next check. The change and its event commit together. A
   * finished row (or a running one failing `runningWhere`) cannot be cancelled (409).
   */
  async cancel(id: string, o: CancelOptions<T>): Promise<T> {
    const row = await this.get(id);
    const target = this.repo.target;
    const cancelled = await this.repo.manager.transaction(async (m) => {
      const changes = [
        {
          where: rowWhere<T>({ id, status: 'queued' }),
          set: rowPatch<T>({ status: 'cancelled', cancelRequested: true, finishedAt: new Date() }),
        },
        { where: { ...o.runningWhere, ...rowWhere<T>({ id, status: 'running' }) }, set: rowPatch<T>({ cancelRequested: true }) },
      ];
      for (const { where, set } of changes) {
        if (!(await m.update(target, where, set)).affected) continue;
        const after = await m.findOneByOrFail(target, rowWhere<T>({ id }));
        await o.record(m, after);
        return after;
      }
      return null;
    });
    if (cancelled?.status === 'cancelled') {
      await o.queue.remove(o.queueJobId).catch(() => 0); // an active (locked) job stays; its worker sees the status
    }
    if (cancelled) return cancelled;
    throw new ConflictException(o.refusal?.(row) ?? `${this.noun} ${id} is ${row.status} and cannot be cancelled`);
  }
}
