import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { Readable } from 'node:stream';
import { checkVersionOptions, csvStringifier, fieldMessage } from './datasets.service';
import { IngestInputError } from './pipeline';

describe('csvStringifier', () => {
  it('writes a header, quotes what needs quoting, booleans as true/false, and csv-parse reads it back', async () => {
    const values = ['plain', 'a,b', 'say "hi"', 'line\nbreak', 42, 0.1, true, false, null, ''];
    const columns = values.map((_, i) => `c${i}`);
    const row = Object.fromEntries(columns.map((c, i) => [c, values[i]]));
    const text = (await Readable.from([row]).pipe(csvStringifier(columns)).toArray()).join('');
    assert.equal(text, `${columns.join(',')}\r\nplain,"a,b","say ""hi""","line\nbreak",42,0.1,true,false,,\r\n`);
    assert.deepEqual(parse(text), [columns, ['plain', 'a,b', 'say "hi"', 'line\nbreak', '42', '0.1', 'true', 'false', '', '']]);
  });
});

describe('checkVersionOptions', () => {
  const fails = (input: Record<string, unknown>, field: string, reason: RegExp): void => {
    assert.throws(
      () => checkVersionOptions(input),
      (e: unknown) => e instanceof IngestInputError && e.field === field && reason.test(fieldMessage(e).message),
    );
  };

  it('accepts and normalises valid options', () => {
    assert.deepEqual(checkVersionOptions({}), {});
    assert.deepEqual(checkVersionOptions({ errorPolicy: { mode: 'reject', maxErrorRate: 0.5 }, nullTokens: ['-'] }), {
      errorPolicy: { mode: 'reject', maxErrorRate: 0.5 },
      nullTokens: ['-'],
    });
    assert.deepEqual(checkVersionOptions({ schema: [{ name: 'a', type: 'number' }] }), { schema: [{ name: 'a', type: 'number' }] });
  });

  it('names the field at fault', () => {
    fails({ errorPolicy: 'drop' }, 'errorPolicy', /^errorPolicy: must be an object/);
    fails({ errorPolicy: { mode: 'skip' } }, 'errorPolicy.mode', /^errorPolicy\.mode: must be "reject" or "drop"$/);
    fails({ errorPolicy: { mode: 'drop', maxErrorRate: 0.1 } }, 'errorPolicy.maxErrorRate', /only applies to mode "reject"/);
    fails({ errorPolicy: { mode: 'reject', maxErrorRate: 2 } }, 'errorPolicy.maxErrorRate', /between 0 and 1/);
    fails({ errorPolicy: { mode: 'reject', rate: 1 } }, 'errorPolicy.rate', /not a known property/);
    fails({ nullTokens: 'NA' }, 'nullTokens', /array of at most 100 strings/);
    fails({ schema: { columns: [{ name: 'a', type: 'float' }] } }, 'schema.columns[0].type', /"float" is not one of/);
  });
});
