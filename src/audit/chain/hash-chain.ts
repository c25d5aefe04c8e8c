import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * Tamper-evident hash chain: each record stores the previous record's hash and its own
 *   hash = SHA-256_hex(prevHash + canonicalJson(content)),
 * so editing, deleting, inserting or reordering any record breaks the chain at that point.
 * The first record's prevHash is GENESIS_HASH. Pure functions, no storage.
 */

/** prevHash of the first record of a chain: 64 zero hex digits. */
export const GENESIS_HASH = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;

/** SHA-256 (lowercase hex) over `prevHash` followed by the canonical JSON of `content`. */
export function hashRecord(prevHash: string, content: unknown): string {
  return hashCanonical(prevHash, canonicalJson(content));
}

/** hashRecord for content already in canonical JSON (`canonicalJson(content)`, e.g. assembled from canonical parts). */
export function hashCanonical(prevHash: string, canonicalContent: string): string {
  if (!HEX64.test(prevHash)) throw new TypeError('hashRecord: prevHash must be 64 lowercase hex digits');
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalContent, 'utf8').digest('hex');
}

export interface ChainRecord {
  /** Stable identifier reported when this record breaks the chain (e.g. a request id or row id). */
  id: string | number;
  prevHash: string;
  hash: string;
  /** Exactly the content that was hashed. */
  content: unknown;
}

export interface ChainBreak {
  /** Position in the array passed to verifyChain. */
  index: number;
  id: string | number;
  /**
   * `hash_mismatch`: the stored hash is not the hash of the stored prevHash + content (this record
   * was edited). `prev_hash_mismatch`: the stored prevHash is not the previous record's hash (a
   * record before it was deleted, inserted, reordered, or edited with its hash recomputed).
   */
  reason: 'hash_mismatch' | 'prev_hash_mismatch';
  /** The value the chain requires: the recomputed hash, or the previous record's hash. */
  expected: string;
  /** The stored value found instead. */
  actual: string;
}

export type ChainVerification = { ok: true; checked: number } | { ok: false; checked: number; firstBroken: ChainBreak };

export interface VerifyOptions {
  /**
   * The hash the first record must link to: GENESIS_HASH (default) for a whole chain, or the hash
   * of the record just before the range when verifying a slice (`from`/`to`). Pass `null` to trust
   * the first record's own prevHash (slice verification without an anchor).
   */
  previousHash?: string | null;
}

/**
 * Recomputes the chain over `records` (in chain order). `checked` is the number of records
 * examined: all of them when ok, up to and including the first broken one otherwise.
 */
export function verifyChain(records: Iterable<ChainRecord>, options: VerifyOptions = {}): ChainVerification {
  let expectedPrev: string | null = options.previousHash === undefined ? GENESIS_HASH : options.previousHash;
  let index = 0;
  for (const record of records) {
    const checked = index + 1;
    if (expectedPrev !== null && record.prevHash !== expectedPrev) {
      return {
        ok: false,
        checked,
        firstBroken: { index, id: record.id, reason: 'prev_hash_mismatch', expected: expectedPrev, actual: record.prevHash },
      };
    }
    let recomputed: string;
    try {
      recomputed = hashRecord(record.prevHash, record.content);
    } catch {
      // A malformed prevHash or unserialisable content cannot match any stored hash.
      recomputed = '';
    }
    if (recomputed !== record.hash) {
      return {
        ok: false,
        checked,
        firstBroken: { index, id: record.id, reason: 'hash_mismatch', expected: recomputed, actual: record.hash },
      };
    }
    expectedPrev = record.hash;
    index++;
  }
  return { ok: true, checked: index };
}

/**
 * Builds chained records from contents in order, starting after `previousHash` (default
 * GENESIS_HASH). Convenience for writers and tests.
 */
export function buildChain<T>(
  items: Iterable<{ id: string | number; content: T }>,
  previousHash: string = GENESIS_HASH,
): Array<{ id: string | number; prevHash: string; hash: string; content: T }> {
  const out: Array<{ id: string | number; prevHash: string; hash: string; content: T }> = [];
  let prev = previousHash;
  for (const { id, content } of items) {
    const hash = hashRecord(prev, content);
    out.push({ id, prevHash: prev, hash, content });
    prev = hash;
  }
  return out;
}
