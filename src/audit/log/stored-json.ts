/**
 * Makes values storable in PostgreSQL so that what is read back is exactly what was hashed.
 *
 * `jsonb` refuses `\u0000` and unpaired UTF-16 surrogates, `text` refuses NUL, and JSON has no
 * NaN / ±Infinity (which the /v1 protocol accepts) or BigInt. So, before hashing and storing:
 * NUL and unpaired surrogates become U+FFFD (in strings and object keys), non-finite numbers become
 * the strings "NaN" / "Infinity" / "-Infinity", BigInts become decimal strings, and `toJSON`
 * (Dates) applies as in JSON.stringify. The jsonb column receives the very JSON text that was parsed
 * back into the hashed value, so the database stores what was hashed.
 */

const UNSAFE_TEXT = /[\0\uD800-\uDFFF]/;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string PostgreSQL stores and returns unchanged (NUL and unpaired surrogates → U+FFFD). */
export function cleanText(s: string): string {
  if (!UNSAFE_TEXT.test(s)) return s;
  return s.replace(UNPAIRED_SURROGATE, '\uFFFD').replace(/\0/g, '\uFFFD');
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return cleanText(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    // fromEntries defines own properties, so a "__proto__" key stays a key
    if (keys.some((k) => UNSAFE_TEXT.test(k))) return Object.fromEntries(keys.map((k) => [cleanText(k), (value as Record<string, unknown>)[k]]));
  }
  return value;
}

export interface StoredJson {
  /** JSON text for a `jsonb` parameter, or null for SQL NULL. */
  text: string | null;
  /** The value PostgreSQL will give back for `text` (what gets hashed). */
  value: unknown;
}

/** The JSON-safe form of `value` (undefined / null / JSON null → SQL NULL). */
export function storedJson(value: unknown): StoredJson {
  if (value === undefined || value === null) return { text: null, value: null };
  const text = JSON.stringify(value, replacer) as string | undefined;
  if (text === undefined || text === 'null') return { text: null, value: null };
  return { text, value: JSON.parse(text) as unknown };
}
