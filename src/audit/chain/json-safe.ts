/**
 * THE JSON-safe encoding of audit records, used by the producer (AuditSink, before a record enters
 * the queue backend) and by the writer and readers of the audit log (stored-json.ts, chain-content.ts).
 *
 * Two steps:
 * - `toJsonSafe`: non-finite numbers (NaN, ±Infinity, which TF Serving's REST API accepts) become the
 *   strings "NaN", "Infinity", "-Infinity"; typed arrays become arrays; Dates their ISO string. This
 *   is the value the record describes ("what the model saw"); `inputsSha256` is SHA-256 of its
 *   RFC 8785 canonical JSON.
 * - `escapeStrings` / `unescapeStrings`: PostgreSQL's `text` refuses NUL and `jsonb` also refuses
 *   unpaired UTF-16 surrogates, and with the PostgreSQL queue backend the job payload itself is stored
 *   in PostgreSQL. So every string and object key is stored escaped, reversibly: each NUL, unpaired
 *   surrogate and each ESCAPE character (U+E000, private use) becomes ESCAPE followed by the code
 *   unit as 4 lowercase hex digits ("a\0" → "a\ue0000000", "\ud800" → "\ue000d800",
 *   "\ue000" → "\ue000e000"). Any other string is stored unchanged, so ordinary data reads as itself;
 *   unescaping gives back exactly the original JS string. Stored rows (and queue payloads) are in
 *   the escaped form; the hash chain, the API and exports use the unescaped form.
 */

/** Introduces an escape in stored strings (private use, never produced by Kiln itself). */
export const ESCAPE = '\uE000';

const NEEDS_ESCAPE = /[\0\uD800-\uDFFF\uE000]/;
const TO_ESCAPE = /\0|\uE000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const MAYBE_UNSTORABLE = /[\0\uD800-\uDFFF]/;
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ESCAPED = /\uE000([0-9a-f]{4})/g;

/** One UTF-16 code unit in its escaped form: ESCAPE + 4 lowercase hex digits. */
const escapeUnit = (c: string) => ESCAPE + c.charCodeAt(0).toString(16).padStart(4, '0');

/** Same value with non-finite numbers as strings, typed arrays as arrays, Dates as ISO strings. */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return typedJsonSafe(value as unknown as ArrayLike<number | bigint>);
  if (ArrayBuffer.isView(value)) return [];
  if (Array.isArray(value)) return value.map((v) => toJsonSafe(v));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonSafe(v);
  return out;
}

/** A typed array's elements as JSON values: a plain loop (a large tensor has millions; no callback per element). */
function typedJsonSafe(a: ArrayLike<number | bigint>): unknown[] {
  const out = new Array<unknown>(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    out[i] = typeof v === 'number' && Number.isFinite(v) ? v : String(v);
  }
  return out;
}

/** The stored form of one string: NUL, unpaired surrogates and ESCAPE become ESCAPE + 4 hex digits. */
export function escapeText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(TO_ESCAPE, escapeUnit);
}

/**
 * A string already in stored form, made safe for PostgreSQL: only a NUL or unpaired surrogate left in
 * it is escaped (an ESCAPE present is taken as an escape, not escaped again). For writers that receive
 * records from a producer that may have skipped escapeStrings.
 */
export function escapeUnstorable(s: string): string {
  if (!MAYBE_UNSTORABLE.test(s)) return s;
  return s.replace(UNSTORABLE, escapeUnit);
}

/** The original string of a stored one (inverse of escapeText). */
export function unescapeText(s: string): string {
  if (!s.includes(ESCAPE)) return s;
  return s.replace(ESCAPED, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * `value` with `f` applied to every string and key; copy-on-change: a value in which `f` changes
 * nothing is returned as is (the common case — ordinary data — allocates nothing; this runs for
 * every audited call, on the producer and in the writer).
 */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const m = mapStrings(v, f);
      if (out === null && m !== v) out = value.slice(0, i);
      if (out !== null) out.push(m);
    }
    return out ?? value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  let out: Array<[string, unknown]> | null = null;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = obj[k];
    const mk = f(k);
    const mv = mapStrings(v, f);
    if (out === null && (mk !== k || mv !== v)) out = keys.slice(0, i).map((x) => [x, obj[x]]);
    if (out !== null) out.push([mk, mv]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a key
  return out === null ? value : Object.fromEntries(out);
}

/** A JSON value (from toJsonSafe or JSON.parse) with every string and key in its stored form. */
export function escapeStrings<T>(value: T): T {
  return mapStrings(value, escapeText) as T;
}

/** The original value of a stored JSON value (inverse of escapeStrings). */
export function unescapeStrings<T>(value: T): T {
  return mapStrings(value, unescapeText) as T;
}
