import { createHash } from 'node:crypto';
import { canonicalJson, toJsonSafe } from './chain';

/** A before/after value larger than this is logged as its size and hash, not in full. */
const MAX_LOGGED_BYTES = 64 * 1024;

/** The logged form of a before/after value: JSON-safe, and at most MAX_LOGGED_BYTES (else its size and hash). */
export function bounded(value: unknown): unknown {
  const safe = toJsonSafe(value);
  const json = canonicalJson(safe);
  if (json.length <= MAX_LOGGED_BYTES) return safe;
  return { truncated: true, bytes: json.length, sha256: createHash('sha256').update(json).digest('hex') };
}
