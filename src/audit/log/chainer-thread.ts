/** What the audit chainer's host (audit-chainer.service.ts) and its thread (audit-chainer.worker.ts) share. */

export interface ChainerWorkerData {
  databaseUrl: string;
  /** Int32Array over it: [PAUSED] = 1 while paused, [WAITING] = 1 while the thread waits idle for a poke. */
  flags: SharedArrayBuffer;
}
export const PAUSED = 0;
export const WAITING = 1;

export type ChainerHostMessage = { type: 'poke' } | { type: 'stop' };
type LogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';
export type ChainerWorkerMessage =
  { type: 'log'; level: LogLevel; context: string; message: unknown; fields: Record<string, unknown> | null } | { type: 'stopped' };
