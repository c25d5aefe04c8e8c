/** What the audit chainer's host (audit-chainer.service.ts) and its thread (audit-chainer.worker.ts) share. */

export interface ChainerWorkerData {
  databaseUrl: string;
  /** Int32Array over it: the control flags below (StagedChainer's `flags`). */
  flags: SharedArrayBuffer;
}
/** 1 while paused (tests hold records back). */
export const PAUSED = 0;
/** 1 while the loop waits idle for a poke. */
export const WAITING = 1;
/** 1 while the loop is in (or about to start) a pass. */
export const BUSY = 2;
export const CHAINER_FLAGS_BYTES = 12;

export type ChainerHostMessage = { type: 'poke' } | { type: 'stop' };
type LogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';
export type ChainerWorkerMessage =
  { type: 'log'; level: LogLevel; context: string; message: unknown; fields: Record<string, unknown> | null } | { type: 'stopped' };
