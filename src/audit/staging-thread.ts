/** What AuditStaging (audit-staging.ts) and its staging thread (audit-staging.worker.ts) share. */

export interface StagingWorkerData {
  databaseUrl: string;
  /** Connections of the thread's pool: group commits written at once (AuditSink keeps at most 2 in flight). */
  connections: number;
}

/**
 * Host → thread: a group commit to INSERT, `[id, records, text]` (the batch already serialised on
 * the host: structured clone copies a string for less than the objects it was made of), or `stop`
 * (finish what was handed over, close the pool, exit).
 */
export type StagingHostMessage = [id: number, records: number, text: string] | 'stop';

/**
 * Thread → host: `ready` once its pool has a connection, then per batch `[id]` (committed) or
 * `[id, message, code]` (PostgreSQL refused it or the connection failed: not stored).
 */
export type StagingWorkerMessage = 'ready' | [id: number] | [id: number, message: string, code: string | undefined];

export const STAGE_SQL = `INSERT INTO audit_staging (records, batch) VALUES ($1, $2)`;
