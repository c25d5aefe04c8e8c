import { NotFoundException } from '@nestjs/common';
import { ValidateBy, type ValidationOptions } from 'class-validator';
import type { FieldError } from '../platform/http/problem-details';
import { ValidationProblemException } from '../platform/http/validation';
import { MAX_VERSION_NUMBER, parseVersionNumber, VERSION_NUMBER_REASON } from './version-number';

/**
 * Which version of a model a request asks for: a version number or an alias name, exclusive. With
 * neither, the caller's default decides (the deployment routes, else the `production` alias).
 * The one selector of every API that picks a version (record API, TF Serving, OIP, batch predictions);
 * parse it with `parseVersionSelector`, resolve it with `resolveVersionSelector`, so every API
 * answers the same 400s and 404s.
 */
export interface VersionSelector {
  version?: number;
  alias?: string;
}

/** The reasons a selector is refused, one text each (also used by the DTOs and the deployment rules). */
export const SELECTOR_REASONS = Object.freeze({
  both: 'give version or alias, not both',
  version: VERSION_NUMBER_REASON,
  alias: "must be 1–64 letters, digits, '.', '_' or '-' starting with a letter or digit",
});

/** An alias name: 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit. */
export const ALIAS_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const absent = (v: unknown): v is undefined | null => v === undefined || v === null;
const isAliasName = (v: unknown): v is string => typeof v === 'string' && ALIAS_PATTERN.test(v);

/** Where a selector's values come from: URL texts (query or path: `'7'`) or JSON (`7`; a string is a wrong type). */
export interface SelectorSource {
  /** Prefix of the field names (`routes.0.`). */
  at?: string;
  /** The values are URL texts. */
  text?: boolean;
}

/** A version from a URL text or a JSON number; null when it is no possible version (int4, ≥ 1). */
function versionOf(value: unknown, text: boolean): number | null {
  if (typeof value === 'string') return text ? parseVersionNumber(value) : null;
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_VERSION_NUMBER ? (value as number) : null;
}

/** DTO field: a version number (JSON integer 1 … 2^31 − 1), refused with the selector's one text. */
export function IsVersionNumber(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isVersionNumber',
      validator: { validate: (v: unknown) => versionOf(v, false) !== null, defaultMessage: () => `$property ${SELECTOR_REASONS.version}` },
    },
    options,
  );
}

/** DTO field: an alias name, refused with the selector's one text. */
export function IsAliasName(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAliasName',
      validator: {
        validate: isAliasName,
        defaultMessage: () => `$property ${SELECTOR_REASONS.alias}`,
      },
    },
    options,
  );
}

/** 400 naming `<at>alias` unless `alias` is an alias name. */
export function checkAliasName(alias: unknown, at = ''): string {
  if (!isAliasName(alias)) throw new ValidationProblemException([{ field: `${at}alias`, reason: SELECTOR_REASONS.alias }]);
  return alias;
}

/** What is wrong with a version-or-alias choice (null and undefined are absent): empty when it is a selector. */
export function versionSelectorErrors(
  input: { version?: unknown; alias?: unknown },
  { at = '', text = false }: SelectorSource = {},
): FieldError[] {
  const { version, alias } = input;
  if (!absent(version) && !absent(alias)) return [{ field: `${at}alias`, reason: SELECTOR_REASONS.both }];
  if (!absent(version) && versionOf(version, text) === null) return [{ field: `${at}version`, reason: SELECTOR_REASONS.version }];
  if (!absent(alias) && !isAliasName(alias)) return [{ field: `${at}alias`, reason: SELECTOR_REASONS.alias }];
  return [];
}

/** The selector `input` names; 400 naming the field and the reason when it names none. */
export function parseVersionSelector(input: { version?: unknown; alias?: unknown }, source: SelectorSource = {}): VersionSelector {
  const errors = versionSelectorErrors(input, source);
  if (errors.length) throw new ValidationProblemException(errors);
  if (!absent(input.version)) return { version: versionOf(input.version, source.text ?? false)! };
  if (!absent(input.alias)) return { alias: input.alias as string };
  return {};
}

/**
 * The version number a selector names: its `version`, or the version its `alias` points at as
 * `aliasVersion` reads it (the registry's table, or an inference replica's polled routing snapshot).
 * 404 naming `alias` when the model has no such alias; undefined for an empty selector (the
 * caller's default). Whether the version exists is the caller's next lookup.
 */
export function resolveVersionSelector(
  model: string,
  selector: VersionSelector,
  aliasVersion: (alias: string) => number | undefined,
): number | undefined {
  if (selector.version !== undefined && selector.alias !== undefined)
    throw new ValidationProblemException([{ field: 'alias', reason: SELECTOR_REASONS.both }]);
  if (selector.version !== undefined) {
    if (versionOf(selector.version, false) === null)
      throw new ValidationProblemException([{ field: 'version', reason: SELECTOR_REASONS.version }]);
    return selector.version;
  }
  if (selector.alias === undefined) return undefined;
  const version = aliasVersion(selector.alias);
  if (version === undefined) throw noSuchAlias(model, selector.alias);
  return version;
}

/** The 404 of an alias the model does not have, naming the field. */
export function noSuchAlias(model: string, alias: string): NotFoundException {
  return new NotFoundException(`alias: model ${model} has no alias ${alias.slice(0, 80)}`);
}
