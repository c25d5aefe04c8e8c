import { canonicalize } from 'json-canonicalize';

/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme) via the `json-canonicalize` package:
 * object keys sorted by UTF-16 code units at every level, no whitespace, ECMAScript number
 * formatting (so -0 → 0, 1e21 → 1e+21), `toJSON` honoured (Dates become ISO strings), undefined
 * object members dropped like JSON.stringify. NaN / ±Infinity and BigInt throw: they have no JSON
 * form, and a hash over a lossy form would not survive a database round trip.
 *
 * (The better-known `canonicalize` package is ESM-only with an import-only export map, so it
 * cannot be loaded from this CommonJS build; `json-canonicalize` implements the same RFC and
 * ships a CommonJS entry.)
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined) throw new TypeError('canonicalJson: undefined has no JSON form');
  return canonicalize(value);
}
