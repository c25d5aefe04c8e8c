import { In, type FindOptionsWhere, type ObjectLiteral, type Repository } from 'typeorm';

/**
 * The row a queued domain job keeps as its source of truth (training jobs, batch predictions): the
 * queue job carries only the row id; status, attempts and cancellation live on the row.
 */
export interface QueuedJobRow extends ObjectLiteral {
  id: string;
  status: string;
  cancelRequested: boolean;
  attempts: number;
  startedAt: Date | null;
}

/**
 * Claims a row for a worker: `queued` (or `running`, a retry after a crash) → `running`, one more
 * attempt, `startedAt` kept from the first attempt. False when the row was cancelled or finished
 * meanwhile (one conditional UPDATE, so two workers never both claim a finished row).
 */
export async function claimJobRow<T extends QueuedJobRow>(rows: Repository<T>, id: string): Promise<boolean> {
  const claimed = await rows
    .createQueryBuilder()
    .update()
    .set({ status: 'running', attempts: () => 'attempts + 1', startedAt: () => 'COALESCE(started_at, now())' } as never)
    .where({ id, status: In(['queued', 'running']), cancelRequested: false } as FindOptionsWhere<T>)
    .execute();
  return !!claimed.affected;
}
