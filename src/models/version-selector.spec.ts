import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundException } from '@nestjs/common';
import { validateSync } from 'class-validator';
import { ValidationProblemException } from '../platform/http/validation';
import { MAX_VERSION_NUMBER } from './version-number';
import {
  IsAliasName,
  IsVersionNumber,
  parseVersionSelector,
  resolveVersionSelector,
  SELECTOR_REASONS,
  versionSelectorErrors,
} from './version-selector';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ValidationProblemException, String(e));
    return e.errors;
  }
  assert.fail('not refused');
};

describe('parseVersionSelector', () => {
  it('parses URL texts: a version within int4, an alias name, or neither', () => {
    assert.deepEqual(parseVersionSelector({ version: '7' }, { text: true }), { version: 7 });
    assert.deepEqual(parseVersionSelector({ version: String(MAX_VERSION_NUMBER) }, { text: true }), { version: MAX_VERSION_NUMBER });
    assert.deepEqual(parseVersionSelector({ alias: 'staging' }, { text: true }), { alias: 'staging' });
    assert.deepEqual(parseVersionSelector({}, { text: true }), {});
  });

  it('takes JSON numbers, and refuses a JSON string version (a wrong type)', () => {
    assert.deepEqual(parseVersionSelector({ version: 3, alias: null }), { version: 3 });
    assert.deepEqual(
      refusal(() => parseVersionSelector({ version: '3' })),
      [{ field: 'version', reason: SELECTOR_REASONS.version }],
    );
  });

  it('answers one 400 text per reason, naming the field (with the caller prefix)', () => {
    for (const version of ['0', '01', 'abc', '1.5', String(MAX_VERSION_NUMBER + 1)]) {
      assert.deepEqual(
        refusal(() => parseVersionSelector({ version }, { text: true })),
        [{ field: 'version', reason: SELECTOR_REASONS.version }],
        version,
      );
    }
    for (const version of [0, -1, 1.5, MAX_VERSION_NUMBER + 1, Number.NaN]) {
      assert.deepEqual(
        versionSelectorErrors({ version }, { at: 'routes.2.' }),
        [{ field: 'routes.2.version', reason: SELECTOR_REASONS.version }],
        String(version),
      );
    }
    for (const alias of ['', 'has space', '-lead', 'x'.repeat(65), 7]) {
      assert.deepEqual(versionSelectorErrors({ alias }), [{ field: 'alias', reason: SELECTOR_REASONS.alias }], String(alias));
    }
    assert.deepEqual(
      refusal(() => parseVersionSelector({ version: '1', alias: 'production' }, { text: true })),
      [{ field: 'alias', reason: SELECTOR_REASONS.both }],
    );
  });
});

describe('resolveVersionSelector', () => {
  const aliases: Record<string, number> = { production: 4 };
  const lookup = (a: string) => (Object.hasOwn(aliases, a) ? aliases[a] : undefined);

  it('gives the version, the version behind the alias, or undefined for the caller default', () => {
    assert.equal(resolveVersionSelector('m', { version: 2 }, lookup), 2);
    assert.equal(resolveVersionSelector('m', { alias: 'production' }, lookup), 4);
    assert.equal(resolveVersionSelector('m', {}, lookup), undefined);
  });

  it('404 naming alias for an alias the model lacks; 400 for a selector no parser would give', () => {
    assert.throws(
      () => resolveVersionSelector('m', { alias: 'constructor' }, lookup),
      (e: unknown) => e instanceof NotFoundException && e.message === 'alias: model m has no alias constructor',
    );
    assert.throws(() => resolveVersionSelector('m', { version: 0 }, lookup), ValidationProblemException);
    assert.throws(() => resolveVersionSelector('m', { version: 1, alias: 'production' }, lookup), ValidationProblemException);
  });
});

describe('IsVersionNumber / IsAliasName', () => {
  class Body {
    @IsVersionNumber()
    version!: unknown;

    @IsAliasName()
    alias!: unknown;
  }
  const reasons = (version: unknown, alias: unknown) =>
    validateSync(Object.assign(new Body(), { version, alias })).map((e) => [e.property, Object.values(e.constraints ?? {})]);

  it('refuse a DTO field with the selector text, once per field', () => {
    assert.deepEqual(reasons(1, 'production'), []);
    assert.deepEqual(reasons(MAX_VERSION_NUMBER + 1, 'bad alias!'), [
      ['version', [`version ${SELECTOR_REASONS.version}`]],
      ['alias', [`alias ${SELECTOR_REASONS.alias}`]],
    ]);
    assert.deepEqual(reasons('1', 7), [
      ['version', [`version ${SELECTOR_REASONS.version}`]],
      ['alias', [`alias ${SELECTOR_REASONS.alias}`]],
    ]);
  });
});
