/**
 * A JSON-safe copy of a value: non-finite numbers (NaN, ±Infinity, which TF Serving's REST API
 * accepts) become the strings "NaN", "Infinity", "-Infinity"; typed arrays become arrays. What is
 * hashed is then exactly what a jsonb column stores and gives back.
 */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, (v) => toJsonSafe(v));
  if (Array.isArray(value)) return value.map((v) => toJsonSafe(v));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonSafe(v);
  return out;
}
