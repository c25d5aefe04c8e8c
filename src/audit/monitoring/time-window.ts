/**
 * The sliding window of the live-quality and monitoring queries: `?window=15m|1h|24h` (any
 * `<n>m`, `<n>h` or `<n>d` up to 31 days) ending now, or an explicit `?from&to` (ISO 8601; `to`
 * defaults to now). Default: the last hour.
 */
import { ValidationProblemException } from '../../platform/http/validation';

export interface TimeWindow {
  from: Date;
  to: Date;
  /** Length of the window in seconds (the denominator of request rates). */
  seconds: number;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_WINDOW_MS = 31 * 86_400_000;
export const DEFAULT_WINDOW = '1h';

function parseInstant(field: string, value: string): Date {
  // Date.parse accepts odd forms ("1"): require something that starts like an ISO 8601 date.
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw new ValidationProblemException([{ field, reason: `'${value.slice(0, 40)}' is not an ISO 8601 timestamp` }]);
  return new Date(t);
}

export function parseTimeWindow(q: { window?: string; from?: string; to?: string }, now = new Date()): TimeWindow {
  if (q.window !== undefined && (q.from !== undefined || q.to !== undefined)) {
    throw new ValidationProblemException([{ field: 'window', reason: 'give window or from/to, not both' }]);
  }
  if (q.from !== undefined || q.to !== undefined) {
    if (q.from === undefined) throw new ValidationProblemException([{ field: 'from', reason: 'is required with to' }]);
    const from = parseInstant('from', q.from);
    const to = q.to === undefined ? now : parseInstant('to', q.to);
    if (to.getTime() <= from.getTime()) throw new ValidationProblemException([{ field: 'to', reason: 'must be after from' }]);
    if (to.getTime() - from.getTime() > MAX_WINDOW_MS)
      throw new ValidationProblemException([{ field: 'from', reason: 'the window may span at most 31 days' }]);
    return { from, to, seconds: (to.getTime() - from.getTime()) / 1000 };
  }
  const spec = q.window ?? DEFAULT_WINDOW;
  const m = /^([1-9][0-9]{0,4})([mhd])$/.exec(spec);
  if (!m) throw new ValidationProblemException([{ field: 'window', reason: `'${spec.slice(0, 40)}' is not a window like 15m, 1h or 24h` }]);
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms > MAX_WINDOW_MS) throw new ValidationProblemException([{ field: 'window', reason: 'may span at most 31 days' }]);
  return { from: new Date(now.getTime() - ms), to: now, seconds: ms / 1000 };
}
