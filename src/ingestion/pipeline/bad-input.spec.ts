/** Every bad input gets a typed IngestInputError with a code, a field and a clear message. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { IngestInputError, IngestRejectedError, type IngestErrorCode } from './errors';
import { runIngest } from './ingest-pipeline';
import { CollectingSink, ingestBuffer } from '../../../test/support/ingestion/ingest-helpers';

async function rejects(p: Promise<unknown>, code: IngestErrorCode, message: RegExp, field = 'file'): Promise<IngestInputError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof IngestInputError, `expected IngestInputError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    assert.equal(e.field, field);
    assert.ok(e.status >= 400 && e.status < 500);
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('bad input: files', () => {
  it('empty file', async () => {
    const e = await rejects(ingestBuffer('', { fileName: 'x.csv' }), 'EMPTY_FILE', /the file is empty/);
    assert.equal(e.status, 422);
    await rejects(ingestBuffer('', { fileName: 'x.json' }), 'EMPTY_FILE', /the file is empty/);
    await rejects(ingestBuffer(gzipSync(''), { fileName: 'x.ndjson.gz' }), 'EMPTY_FILE', /empty \(after decompression\)/);
  });

  it('header only', async () => {
    await rejects(ingestBuffer('a,b,c\n', { fileName: 'x.csv' }), 'NO_DATA_ROWS', /header row but no data rows/);
    await rejects(ingestBuffer('[]', { fileName: 'x.json' }), 'NO_DATA_ROWS', /JSON array is empty/);
  });

  it('duplicate column names', async () => {
    await rejects(ingestBuffer('a,b,a\n1,2,3\n', { fileName: 'x.csv' }), 'DUPLICATE_COLUMN', /duplicate column name "a"/);
  });

  it('empty column name', async () => {
    await rejects(ingestBuffer('a,,c\n1,2,3\n', { fileName: 'x.csv' }), 'EMPTY_COLUMN_NAME', /column 2 of the header has an empty name/);
    await rejects(ingestBuffer('[{"":1}]', { fileName: 'x.json' }), 'EMPTY_COLUMN_NAME', /empty key/);
  });

  it('ragged rows are row errors: rejected by default, dropped with mode drop', async () => {
    const csv = 'a,b\n1,2\n3,4,5\n6\n7,8\n';
    const e = await rejects(
      ingestBuffer(csv, { fileName: 'x.csv' }),
      'ERROR_RATE_EXCEEDED',
      /2 of 4 rows are invalid.*row 2: row has 3 fields, expected 2/,
    );
    assert.ok(e instanceof IngestRejectedError);
    assert.deepEqual(e.errors, [
      { row: 2, column: null, message: 'row has 3 fields, expected 2' },
      { row: 3, column: null, message: 'row has 1 field, expected 2' },
    ]);
    const { result } = await ingestBuffer(csv, { fileName: 'x.csv', errorPolicy: { mode: 'drop' } });
    assert.equal(result.rowCount, 2);
    assert.equal(result.droppedRows, 2);
    assert.equal(result.errorCount, 2);
  });

  it('unbalanced quotes', async () => {
    await rejects(ingestBuffer('a,b\n1,"2\n3,4\n', { fileName: 'x.csv' }), 'CSV_UNBALANCED_QUOTE', /unbalanced quotes.*Quote Not Closed/);
    // an unclosed quote early in a big file stops at the record size limit instead of buffering the file
    const big = 'a,b\n1,"x\n' + '2,3\n'.repeat(20000);
    await rejects(ingestBuffer(big, { fileName: 'x.csv', maxRecordBytes: 1000 }), 'CSV_UNBALANCED_QUOTE', /larger than the limit/);
    await rejects(ingestBuffer('a,b\n1,2"x\n', { fileName: 'x.csv' }), 'CSV_INVALID_QUOTE', /misplaced quote/);
  });

  it('invalid UTF-8', async () => {
    const bad = Buffer.concat([Buffer.from('a,b\n1,caf'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    await rejects(ingestBuffer(bad, { fileName: 'x.csv' }), 'INVALID_UTF8', /not valid UTF-8 \(invalid byte sequence near byte 10\)/);
    const utf16 = Buffer.from('\ufeffa,b\n1,2\n', 'utf16le');
    await rejects(ingestBuffer(utf16, { fileName: 'x.csv' }), 'INVALID_UTF8', /looks like UTF-16/);
    const truncated = Buffer.concat([Buffer.from('a\n'), Buffer.from([0xe2, 0x82])]);
    await rejects(ingestBuffer(truncated, { fileName: 'x.csv' }), 'INVALID_UTF8', /truncated multi-byte sequence/);
  });

  it('valid multi-byte UTF-8 split across chunks is fine', async () => {
    const { result, arrow } = await ingestBuffer('name,v\ncafé ☕ 😀,1\nnaïve,2\n', { fileName: 'x.csv', chunkSize: 1 });
    assert.equal(result.rowCount, 2);
    const { DatasetReader } = await import('../../ml/dataset-reader.js');
    const page = await new DatasetReader(() => arrow).readRows(0, 2);
    assert.deepEqual(
      page.rows.map((r) => r.name),
      ['café ☕ 😀', 'naïve'],
    );
  });

  it('truncated gzip', async () => {
    const gz = gzipSync('a,b\n' + '1,2\n'.repeat(10000));
    await rejects(ingestBuffer(gz.subarray(0, gz.length - 20), { fileName: 'x.csv.gz' }), 'GZIP_CORRUPT', /truncated/);
  });

  it('corrupted gzip', async () => {
    const gz = Buffer.from(gzipSync('a,b\n' + '1,2\n'.repeat(10000)));
    for (let i = 20; i < 40; i++) gz[i] = 0xff;
    await rejects(ingestBuffer(gz, { fileName: 'x.csv.gz' }), 'GZIP_CORRUPT', /gzip data is corrupt/);
    await rejects(ingestBuffer('a,b\n1,2\n', { fileName: 'x.csv.gz' }), 'GZIP_CORRUPT', /named \.gz but is not gzip data/);
  });

  it('gzip bomb: inflated size over maxInflatedBytes', async () => {
    const bomb = gzipSync(Buffer.concat([Buffer.from('a\n'), Buffer.alloc(16 * 1024 * 1024, '0\n')]));
    assert.ok(bomb.length < 64 * 1024);
    const e = await rejects(
      ingestBuffer(bomb, { fileName: 'x.csv.gz', maxInflatedBytes: 1024 * 1024 }),
      'GZIP_TOO_LARGE',
      /inflates to more than the limit of 1048576 bytes/,
    );
    assert.equal(e.status, 413);
  });

  it('unknown format', async () => {
    const e = await rejects(ingestBuffer('x', { fileName: 'data.xlsx' }), 'UNKNOWN_FORMAT', /cannot tell the format of "data\.xlsx"/);
    assert.equal(e.status, 415);
    await rejects(ingestBuffer('x', { format: 'parquet' }), 'UNKNOWN_FORMAT', /unknown format "parquet"/, 'format');
    await rejects(ingestBuffer('x', {}), 'UNKNOWN_FORMAT', /no format given/, 'format');
  });

  it('JSON that is not an array of objects', async () => {
    await rejects(ingestBuffer('{"a":1}', { fileName: 'x.json' }), 'JSON_NOT_ARRAY_OF_OBJECTS', /must be an array of objects/);
    await rejects(ingestBuffer('[{"a":1}, 2]', { fileName: 'x.json' }), 'JSON_NOT_ARRAY_OF_OBJECTS', /element 1 is a number/);
    await rejects(ingestBuffer('{"a":1}\n[1]\n', { fileName: 'x.ndjson' }), 'JSON_NOT_ARRAY_OF_OBJECTS', /line 2 is an array/);
    await rejects(
      runIngest({ records: [{ a: 1 }, 'x'], sink: new CollectingSink() }),
      'JSON_NOT_ARRAY_OF_OBJECTS',
      /records\[1\] is a string/,
      'records',
    );
    await rejects(
      runIngest({ records: {} as never, sink: new CollectingSink() }),
      'JSON_NOT_ARRAY_OF_OBJECTS',
      /must be an array of objects/,
      'records',
    );
  });

  it('malformed JSON', async () => {
    await rejects(ingestBuffer('[{"a":1},', { fileName: 'x.json' }), 'JSON_MALFORMED', /malformed JSON/);
    await rejects(ingestBuffer('{"a":1}\n{"a":\n', { fileName: 'x.ndjson' }), 'JSON_MALFORMED', /malformed JSON on line 2/);
  });

  it('on failure the sink is destroyed with the error (nothing half-written is kept)', async () => {
    const sink = new PassThrough();
    const consumed = (async () => {
      for await (const _ of sink) void _;
    })();
    await assert.rejects(runIngest({ source: () => Buffer.from('a,b\n1,"2\n'), fileName: 'x.csv', sink }), IngestInputError);
    await assert.rejects(consumed, IngestInputError);
    assert.ok(sink.destroyed);
  });
});

describe('bad input: schema and error policy', () => {
  const csv = 'id,score,grade\n1,0.5,a\n2,x,b\n3,0.7,z\n4,,a\n';

  it('a schema that contradicts the data rejects with row errors naming column and reason', async () => {
    const e = await rejects(
      ingestBuffer(csv, {
        fileName: 'x.csv',
        schema: {
          columns: [
            { name: 'score', type: 'number', nullable: false },
            { name: 'grade', categories: ['a', 'b'] },
          ],
        },
      }),
      'ERROR_RATE_EXCEEDED',
      /3 of 4 rows are invalid/,
    );
    assert.ok(e instanceof IngestRejectedError);
    assert.deepEqual(e.errors, [
      { row: 2, column: 'score', message: 'expected a number, got "x"' },
      { row: 3, column: 'grade', message: '"z" is not an allowed category ("a", "b")' },
      { row: 4, column: 'score', message: 'missing value in a non-nullable column' },
    ]);
  });

  it('maxErrorRate tolerates some bad rows (they are dropped) and drop mode keeps only good rows', async () => {
    const schema = { columns: [{ name: 'score', type: 'number' as const }] };
    const ok = await ingestBuffer(csv, { fileName: 'x.csv', schema, errorPolicy: { mode: 'reject', maxErrorRate: 0.25 } });
    assert.equal(ok.result.rowCount, 3);
    assert.equal(ok.result.droppedRows, 1);
    assert.deepEqual(ok.result.errors, [{ row: 2, column: 'score', message: 'expected a number, got "x"' }]);
    await rejects(
      ingestBuffer(csv, { fileName: 'x.csv', schema: { columns: [{ name: 'id', type: 'boolean' }] }, errorPolicy: { mode: 'drop' } }),
      'NO_VALID_ROWS',
      /none of the 4 rows is valid/,
    );
  });

  it('user schema overrides inference', async () => {
    const { result } = await ingestBuffer(csv, {
      fileName: 'x.csv',
      schema: {
        columns: [
          { name: 'id', type: 'string' },
          { name: 'grade', type: 'categorical' },
        ],
      },
      errorPolicy: { mode: 'drop' },
    });
    assert.deepEqual(
      result.columns.map((c) => c.type),
      ['string', 'string', 'categorical'],
    ); // score has an "x"
    assert.deepEqual(result.columns[2]!.categories, ['a', 'b', 'z']);
  });

  it('a value contradicting an inferred type after the inference prefix is a row error that says so', async () => {
    const rows = ['v'];
    for (let i = 0; i < 30; i++) rows.push(String(i));
    rows.push('oops');
    const e = await rejects(ingestBuffer(rows.join('\n'), { fileName: 'x.csv', inferenceRows: 10 }), 'ERROR_RATE_EXCEEDED', /oops/);
    assert.match(
      (e as IngestRejectedError).errors[0]!.message,
      /expected an integer \(type inferred from the first 10 rows; pass a schema to override\)/,
    );
    const full = await ingestBuffer(rows.join('\n'), { fileName: 'x.csv', inferenceRows: 10, inference: 'full' });
    assert.equal(full.result.columns[0]!.type, 'string');
  });

  it('invalid schema and options', async () => {
    await rejects(
      ingestBuffer(csv, { fileName: 'x.csv', schema: { columns: [{ name: 'nope', type: 'number' }] } }),
      'SCHEMA_UNKNOWN_COLUMN',
      /"nope" is not in the data/,
      'schema',
    );
    await rejects(
      ingestBuffer(csv, { fileName: 'x.csv', schema: { columns: [{ name: 'id', type: 'float' as never }] } }),
      'SCHEMA_INVALID',
      /schema\.columns\[0\]\.type "float" is not one of number, integer/,
      'schema.columns[0].type',
    );
    await rejects(
      ingestBuffer(csv, { fileName: 'x.csv', errorPolicy: { mode: 'reject', maxErrorRate: 2 } }),
      'ERROR_POLICY_INVALID',
      /between 0 and 1/,
      'errorPolicy.maxErrorRate',
    );
  });

  it('JSON records with fields outside the inferred columns are row errors', async () => {
    const json = JSON.stringify([{ a: 1 }, { a: 2 }, { a: 3, b: 4 }]);
    const e = await rejects(ingestBuffer(json, { fileName: 'x.json', inferenceRows: 2 }), 'ERROR_RATE_EXCEEDED', /unexpected field "b"/);
    assert.equal((e as IngestRejectedError).errors[0]!.row, 3);
  });
});
