/**
 * PostgreSQL `text` and `jsonb` cannot hold U+0000, so a NUL in anything Kiln stores (names,
 * descriptions, options, file names, ids, query filters) would fail deep in a query as a 500.
 * These helpers find it at the edge so the answer is a 400 naming the field instead. DTO bodies
 * are also refused when a string holds an unpaired surrogate (`\ud800`): `text` would store U+FFFD
 * instead of what was sent and `jsonb` refuses it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FieldError } from './problem-details';
import { ValidationProblemException } from './validation-problem';

export const NUL_REASON = 'must not contain the NUL character (U+0000)';
/** With the `u` flag a surrogate range only matches a surrogate that is not half of a pair. */
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
export const SURROGATE_REASON = 'must be well-formed Unicode (no unpaired surrogate such as \\ud800)';

/** The field path and reason of the first string (value or key) that cannot be stored as sent, or null. */
export function unstorableFieldIn(value: unknown, path: string): { field: string; reason: string } | null {
  const nul = nulFieldIn(value, path);
  if (nul !== null) return { field: nul || 'body', reason: NUL_REASON };
  const lone = fieldMatching(value, path, (s) => LONE_SURROGATE.test(s), 0);
  return lone === null ? null : { field: lone || 'body', reason: SURROGATE_REASON };
}

/** The field path of the first string (value or object key) holding U+0000 in `value`, or null. */
export function nulFieldIn(value: unknown, path: string): string | null {
  return fieldMatching(value, path, (s) => s.includes('\u0000'), 0);
}

function fieldMatching(value: unknown, path: string, bad: (s: string) => boolean, depth: number): string | null {
  if (typeof value === 'string') return bad(value) ? path : null;
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = fieldMatching(value[i], path ? `${path}.${i}` : String(i), bad, depth + 1);
      if (found !== null) return found;
    }
    return null;
  }
  for (const [key, v] of Object.entries(value)) {
    const field = path ? `${path}.${key}` : key;
    if (bad(key)) return field;
    const found = fieldMatching(v, field, bad, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/** Throws a 400 naming the field when a string that is going to be stored holds U+0000. */
export function assertStorableStrings(value: unknown, field: string): void {
  const found = nulFieldIn(value, field);
  if (found !== null) throw new ValidationProblemException([{ field: found || 'body', reason: NUL_REASON }]);
}

/** The field errors for path and query parameters holding U+0000 (`%00`); they never name anything real. */
export function nulParameterErrors(request: Pick<FastifyRequest, 'params' | 'query'>): FieldError[] {
  const errors: FieldError[] = [];
  for (const [where, values] of [
    ['path', request.params],
    ['query', request.query],
  ] as const) {
    const found = nulFieldIn(values, '');
    if (found !== null) errors.push({ field: found, reason: `${where} parameter ${NUL_REASON}` });
  }
  return errors;
}

/** Refuses every request whose path or query parameters hold U+0000, before any handler or guard runs. */
export function installNulParameterGuard(
  fastify: FastifyInstance,
  refuse: (error: ValidationProblemException, request: FastifyRequest, reply: FastifyReply) => void,
): void {
  fastify.addHook('preValidation', async (request, reply) => {
    const errors = nulParameterErrors(request);
    if (!errors.length) return;
    refuse(new ValidationProblemException(errors), request, reply);
    return reply;
  });
}
