/**
 * Makes values storable in PostgreSQL so that what is read back is exactly what was hashed, using
 * THE encoding of src/audit/chain/json-safe.ts (shared with the producer, AuditSink).
 *
 * Records arrive with their strings already escaped (escapeStrings: no NUL, no unpaired surrogates,
 * which `text` / `jsonb` refuse). A producer that skipped that step still gets its record stored: any
 * NUL or unpaired surrogate left is escaped here too (an ESCAPE already present is taken as an escape).
 * Non-finite numbers become "NaN" / "Infinity" / "-Infinity", BigInts decimal strings, and `toJSON`
 * (Dates) applies as in JSON.stringify. The jsonb column receives the very JSON text that was parsed
 * back into `value`, so the database stores `value`; unescapeStrings(value) is the original.
 */
import { ESCAPE, canonicalJson, escapeUnstorable } from '../chain';

/** A stored-form string PostgreSQL keeps unchanged: a NUL or unpaired surrogate left is escaped. */
export const cleanText = escapeUnstorable;

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return cleanText(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    // fromEntries defines own properties, so a "__proto__" key stays a key
    if (keys.some((k) => cleanText(k) !== k))
      return Object.fromEntries(keys.map((k) => [cleanText(k), (value as Record<string, unknown>)[k]]));
  }
  return value;
}

export interface StoredJson {
  /** JSON text for a `jsonb` parameter, or null for SQL NULL. */
  text: string | null;
  /** The value PostgreSQL will give back for `text` (stored form: unescapeStrings gives the original). */
  value: unknown;
}

/** The JSON-safe form of `value` (undefined / null / JSON null → SQL NULL). */
export function storedJson(value: unknown): StoredJson {
  if (value === undefined || value === null) return { text: null, value: null };
  const text = JSON.stringify(value, replacer) as string | undefined;
  if (text === undefined || text === 'null') return { text: null, value: null };
  return { text, value: JSON.parse(text) as unknown };
}

/** In JSON.stringify's output: an escaped NUL or (lone) surrogate, i.e. a string cleanText would change. */
const MAY_NEED_CLEANING = /\\u0000|\\ud[89a-f]/i;

/**
 * storedJson for a value straight from JSON.parse (no NaN, BigInt, undefined or toJSON in it, e.g.
 * a staged batch), with the text in canonical form (RFC 8785): `value` itself is the stored value,
 * unless a NUL or unpaired surrogate is left to clean (then storedJson). jsonb keeps no key order, so
 * the column stores the same value as from JSON.stringify's text; and when no string in it is escaped
 * (no ESCAPE character in the text), the text is also the canonical JSON of the original value, which
 * the hashes need (`canonical`). So a value is serialised once for the column and the hash chain, not
 * twice: number formatting is most of the cost of either (a record's 30 doubles ≈ 5 µs per pass).
 */
export function storedParsedJson(value: unknown): StoredJson & { canonical?: string } {
  if (value === undefined || value === null) return { text: null, value: null };
  const text = canonicalJson(value);
  if (MAY_NEED_CLEANING.test(text)) return storedJson(value);
  return { text, value, canonical: text.includes(ESCAPE) ? undefined : text };
}
