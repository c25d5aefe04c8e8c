import type { Type } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { RpcPatterns, RpcService } from '../../contracts/rpc';
import type { FieldError } from '../http/problem-details';
import { kilnValidationPipe, ValidationProblemException } from '../http/validation';

/**
 * What a domain app checks again on each argument of a use case that arrives over the transport. The
 * gateway validated the HTTP request already, but the transport is a network endpoint anyone on it may
 * reach (a raw ClientProxy, another version of the gateway): a malformed payload must be a 400 naming
 * the argument, never a 500 from the database nor a crash. A rule returns the value to pass on (a DTO
 * argument becomes its class again, as the HTTP ValidationPipe makes it) or the reasons it is refused.
 */
export type ArgRule = (value: unknown) => Promise<ArgOutcome> | ArgOutcome;
type ArgOutcome = { value: unknown } | { errors: Array<{ field?: string; reason: string }> };

/** Each use case's arguments in order, by name (the name is the field a 400 names). */
export type PortArgs<S extends RpcService> = { [M in keyof (typeof RpcPatterns)[S]]: Record<string, ArgRule> };

const ok = (value: unknown): ArgOutcome => ({ value });
const refused = (reason: string): ArgOutcome => ({ errors: [{ reason }] });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A non-empty string of at most `max` characters (names, aliases, request ids), matching `pattern` when given. */
export const text =
  (max = 1000, pattern?: RegExp): ArgRule =>
  (v) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > max)
      return refused(`must be a non-empty string of at most ${max} characters`);
    return pattern && !pattern.test(v) ? refused(`must match ${pattern.source}`) : ok(v);
  };

export const uuid = (): ArgRule => (v) => (typeof v === 'string' && isUUID(v) ? ok(v) : refused('must be a UUID'));

export const int =
  (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): ArgRule =>
  (v) =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? ok(v) : refused(`must be an integer from ${min} to ${max}`);

export const bool = (): ArgRule => (v) => (typeof v === 'boolean' ? ok(v) : refused('must be a boolean'));

export const oneOf =
  (values: readonly string[]): ArgRule =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? ok(v) : refused(`must be one of ${values.join(', ')}`);

/** Any JSON value: the use case parses and checks it field by field itself. */
export const json = (): ArgRule => (v) => (v === undefined ? refused('is required') : ok(v));

/** A JSON object the use case checks in detail itself (feedback bodies, stored-artifact descriptions). */
export const object = (): ArgRule => (v) => (isObject(v) ? ok(v) : refused('must be an object'));

/** An object whose named members follow their rules (other members are left to the use case). */
export const shape =
  (members: Record<string, ArgRule>): ArgRule =>
  async (v) => {
    if (!isObject(v)) return refused('must be an object');
    const errors: Array<{ field?: string; reason: string }> = [];
    const value = { ...v };
    for (const [name, rule] of Object.entries(members)) {
      const outcome = await rule(v[name]);
      if ('errors' in outcome)
        errors.push(...outcome.errors.map((e) => ({ field: e.field ? `${name}.${e.field}` : name, reason: e.reason })));
      else value[name] = outcome.value;
    }
    return errors.length > 0 ? { errors } : ok(value);
  };

export const optional =
  (rule: ArgRule): ArgRule =>
  (v) =>
    v === undefined ? ok(undefined) : rule(v);

export const nullable =
  (rule: ArgRule): ArgRule =>
  (v) =>
    v === null ? ok(null) : rule(v);

/** Who made an admin change (`AdminActor`): the request id and the caller's key id or null. */
export const actor = (): ArgRule => shape({ requestId: text(200), actorKeyId: nullable(text(200)) });

/** A request body or query DTO, checked and transformed exactly as the HTTP ValidationPipe does. */
export function dto(metatype: Type<unknown>): ArgRule {
  const pipe = kilnValidationPipe();
  return async (v) => {
    if (!isObject(v)) return refused('must be an object');
    try {
      return ok(await pipe.transform(v, { type: 'body', metatype }));
    } catch (e) {
      if (e instanceof ValidationProblemException) return { errors: e.errors };
      throw e;
    }
  };
}

/**
 * The arguments of one call checked against its rules: the values to call the use case with, or a 400
 * (`ValidationProblemException`) naming each refused argument (`name` or `name.member`).
 */
export async function checkedArgs(rules: Record<string, ArgRule>, payload: unknown): Promise<unknown[]> {
  const args = isObject(payload) ? payload.args : undefined;
  if (!Array.isArray(args)) throw new ValidationProblemException([{ field: 'args', reason: 'must be an array' }]);
  const names = Object.keys(rules);
  if (args.length > names.length)
    throw new ValidationProblemException([{ field: 'args', reason: `must hold at most ${names.length} arguments` }]);
  const absent = (payload as { absent?: unknown }).absent;
  if (absent !== undefined && !(Array.isArray(absent) && absent.every((i) => Number.isInteger(i) && i >= 0 && i < names.length)))
    throw new ValidationProblemException([{ field: 'absent', reason: 'must be an array of argument positions' }]);
  const raw = names.map((_, i) => (absent?.includes(i) ? undefined : (args[i] as unknown)));
  const errors: FieldError[] = [];
  const values: unknown[] = [];
  for (const [i, name] of names.entries()) {
    const outcome = await rules[name]!(raw[i]);
    if ('errors' in outcome)
      errors.push(...outcome.errors.map((e) => ({ field: e.field ? `${name}.${e.field}` : name, reason: e.reason })));
    else values.push(outcome.value);
  }
  if (errors.length > 0) throw new ValidationProblemException(errors);
  return values;
}
