/**
 * Ingestion end to end on the machine's PostgreSQL with the PostgreSQL queue backend: real HTTP,
 * real uploads into the artifact store, real BullMQ jobs. Data: vega-datasets tables (penguins,
 * seattle-weather), with expectations computed here straight from the raw files.
 */
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { parse as parseCsv } from 'csv-parse/sync';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { JobName, jobId, QueueName, type IngestionProcessVersionPayload } from '../../src/contracts';
import { ArtifactStore } from '../../src/platform/artifacts';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { completedJob } from '../utils/completed-job';
import {
  assertClose,
  assertNumericProfile,
  countBy,
  createDataset,
  ingest,
  penguinsRows,
  readyVersion,
  settled,
  toCsv,
  upload,
  vegaFile,
  type JsonRow,
} from './ingestion-helpers';

const PENGUIN_TYPES = {
  Species: 'categorical',
  Island: 'categorical',
  'Beak Length (mm)': 'number',
  'Beak Depth (mm)': 'number',
  'Flipper Length (mm)': 'integer',
  'Body Mass (g)': 'integer',
  Sex: 'categorical',
};
const PENGUIN_NUMERIC = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];

function typesOf(v: { columns: Array<{ name: string; type: string }> }): Record<string, string> {
  return Object.fromEntries(v.columns.map((c) => [c.name, c.type]));
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('ingestion on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    const penguins = penguinsRows();
    const seattleCsv = vegaFile('seattle-weather.csv');
    const seattle = parseCsv(seattleCsv, { columns: true }) as Array<Record<string, string>>;
    let penguinsId: string;
    let penguinsJsonVersion: any;
    let seattleId: string;
    let seattleVersion: any;

    before(async () => {
      kiln = await startTestKiln('postgres');
      penguinsId = await createDataset(kiln, 'penguins');
      seattleId = await createDataset(kiln, 'seattle-weather');
    });
    after(async () => {
      await kiln?.close();
    });

    describe('datasets', () => {
      it('creates, lists and gets datasets; a duplicate name is 409; a bad name is 400', async () => {
        const dup = await kiln.request('POST', '/api/datasets', { body: { name: 'penguins' } });
        assert.equal(dup.status, 409);
        assert.equal(dup.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.match(dup.body.detail, /name: a dataset named "penguins" already exists/);
        const bad = await kiln.request('POST', '/api/datasets', { body: { name: '../etc' } });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.errors[0].field, 'name');
        const extra = await kiln.request('POST', '/api/datasets', { body: { name: 'x', owner: 'me' } });
        assert.equal(extra.status, 400);
        assert.match(extra.body.detail, /owner/);
        const got = await kiln.request('GET', `/api/datasets/${penguinsId}`);
        assert.equal(got.status, 200);
        assert.equal(got.body.name, 'penguins');
        const docs = await kiln.request('GET', '/docs-json', { key: null });
        for (const path of [
          '/api/datasets',
          '/api/datasets/{id}/versions',
          '/api/datasets/{id}/versions/{versionId}/rows',
          '/api/datasets/{id}/versions/{versionId}/download',
        ]) {
          assert.ok(docs.body.paths[path], `${path} is documented`);
        }
        const list = await kiln.request('GET', '/api/datasets');
        assert.ok(list.body.some((d: { id: string }) => d.id === seattleId));
      });

      it('an unknown dataset id is 404 on every route, a malformed one 400', async () => {
        const unknown = randomUUID();
        for (const path of [
          `/api/datasets/${unknown}`,
          `/api/datasets/${unknown}/versions`,
          `/api/datasets/${unknown}/versions/${randomUUID()}`,
        ]) {
          const res = await kiln.request('GET', path);
          assert.equal(res.status, 404, path);
          assert.match(res.body.detail, new RegExp(`dataset ${unknown} not found`));
        }
        const up = await upload(kiln, unknown, 'a,b\n1,2\n', { fileName: 'x.csv' });
        assert.equal(up.status, 404);
        assert.match(up.body.detail, new RegExp(`dataset ${unknown} not found`));
        const rec = await kiln.request('POST', `/api/datasets/${unknown}/versions`, { body: { records: [{ a: 1 }] } });
        assert.equal(rec.status, 404);
        const malformed = await kiln.request('GET', '/api/datasets/not-a-uuid');
        assert.equal(malformed.status, 400);
        assert.match(malformed.body.detail, /uuid/i);
      });

      it('needs the developer role (a predictor key is refused)', async () => {
        const created = await kiln.request('POST', '/api/keys', { body: { name: 'p', role: 'predictor' } });
        const res = await kiln.request('GET', '/api/datasets', { key: created.body.key });
        assert.equal(res.status, 403);
        const dev = await kiln.request('POST', '/api/keys', { body: { name: 'd', role: 'developer' } });
        assert.equal((await kiln.request('GET', '/api/datasets', { key: dev.body.key })).status, 200);
      });
    });

    describe('real public data', () => {
      it('penguins.json: row count, inferred types and every column profile match a direct computation', async () => {
        penguinsJsonVersion = await readyVersion(kiln, penguinsId, vegaFile('penguins.json'), { fileName: 'penguins.json' });
        const v = penguinsJsonVersion;
        assert.equal(v.version, 1);
        assert.equal(v.rowCount, 344);
        assert.equal(v.errorCount, 0);
        assert.deepEqual(v.errors, []);
        assert.match(v.contentHash, /^[0-9a-f]{64}$/);
        assert.equal(v.progress.rowsProcessed, 344);
        assert.deepEqual(typesOf(v), PENGUIN_TYPES);
        for (const name of PENGUIN_NUMERIC) {
          assertNumericProfile(
            v.profile.columns[name],
            penguins.map((r) => r[name] as number | null),
            name,
          );
          assert.equal(
            v.columns.find((c: { name: string }) => c.name === name).nullable,
            penguins.some((r) => r[name] === null),
            `${name} nullable`,
          );
        }
        for (const name of ['Species', 'Island', 'Sex']) {
          const p = v.profile.columns[name];
          const expected = countBy(penguins.map((r) => r[name]));
          assert.equal(p.kind, 'categorical');
          assert.deepEqual(p.frequencies, expected, name);
          assert.equal(p.missing, penguins.filter((r) => r[name] === null).length, `${name} missing`);
          assert.equal(p.distinct, Object.keys(expected).length);
          assert.deepEqual(
            p.top[0],
            Object.entries(expected)
              .map(([value, count]) => ({ value, count }))
              .sort((a, b) => b.count - a.count)[0],
          );
          assert.deepEqual(v.columns.find((c: { name: string }) => c.name === name).categories, Object.keys(expected).sort());
        }
        assert.ok(v.profile.columns.Sex.missing > 0, 'the raw data has missing Sex values');
        const ds = await kiln.request('GET', `/api/datasets/${penguinsId}`);
        assert.deepEqual(ds.body.latestReadyVersion, { id: v.id, version: 1, status: 'ready' });
      });

      it('penguins as CSV (missing values as empty cells): same types and profile as the JSON upload', async () => {
        const v = await readyVersion(kiln, penguinsId, toCsv(penguins), { fileName: 'penguins.csv' });
        assert.equal(v.version, 2);
        assert.equal(v.rowCount, 344);
        assert.equal(v.source.format, null);
        assert.equal(v.source.fileName, 'penguins.csv');
        assert.deepEqual(typesOf(v), PENGUIN_TYPES);
        assert.deepEqual(v.profile, penguinsJsonVersion.profile);
        assert.equal(v.contentHash, penguinsJsonVersion.contentHash, 'identical data, identical content hash');
      });

      it('seattle-weather.csv: timestamp, numbers and a categorical, profiled like a direct computation', async () => {
        seattleVersion = await readyVersion(kiln, seattleId, seattleCsv, { fileName: 'seattle-weather.csv' });
        const v = seattleVersion;
        assert.equal(v.rowCount, seattle.length);
        assert.equal(v.rowCount, 1461);
        assert.deepEqual(typesOf(v), {
          date: 'timestamp',
          precipitation: 'number',
          temp_max: 'number',
          temp_min: 'number',
          wind: 'number',
          weather: 'categorical',
        });
        for (const name of ['precipitation', 'temp_max', 'temp_min', 'wind']) {
          assertNumericProfile(
            v.profile.columns[name],
            seattle.map((r) => Number(r[name])),
            name,
          );
        }
        assert.deepEqual(v.profile.columns.weather.frequencies, countBy(seattle.map((r) => r.weather)));
        assert.equal(v.profile.columns.date.min, new Date(`${seattle[0]!.date}T00:00:00Z`).toISOString());
        assert.equal(v.profile.columns.date.max, new Date(`${seattle.at(-1)!.date}T00:00:00Z`).toISOString());
      });

      it('a gzip-compressed upload gives the same data (same content hash); explicit format works without an extension', async () => {
        const gz = await readyVersion(kiln, seattleId, gzipSync(seattleCsv), { fileName: 'seattle-weather.csv.gz' });
        assert.equal(gz.contentHash, seattleVersion.contentHash);
        assert.deepEqual(gz.profile, seattleVersion.profile);
        const explicit = await readyVersion(kiln, seattleId, gzipSync(seattleCsv), { fileName: 'blob', fields: { format: 'csv+gzip' } });
        assert.equal(explicit.contentHash, seattleVersion.contentHash);
        assert.equal(explicit.source.format, 'csv+gzip');
        const versions = await kiln.request('GET', `/api/datasets/${seattleId}/versions`);
        assert.deepEqual(
          versions.body.map((x: { version: number }) => x.version),
          [1, 2, 3],
        );
      });

      it('Prefer: wait=N answers 201 with the ready version instead of 202', async () => {
        const id = await createDataset(kiln, 'penguins-sync');
        const res = await upload(kiln, id, vegaFile('penguins.json'), { fileName: 'penguins.json', headers: { prefer: 'wait=30' } });
        assert.equal(res.status, 201, res.text);
        assert.equal(res.body.status, 'ready');
        assert.equal(res.body.rowCount, 344);
        const records = await kiln.request('POST', `/api/datasets/${id}/versions`, {
          body: { records: [{ a: 1 }, { a: 2 }] },
          headers: { prefer: 'respond-async, wait=20' },
        });
        assert.equal(records.status, 201, records.text);
        assert.equal(records.body.rowCount, 2);
      });

      it('{records: [...]} JSON body: 202, then a ready version', async () => {
        const records = penguins.slice(0, 50);
        const res = await kiln.request('POST', `/api/datasets/${penguinsId}/versions`, {
          body: {
            records,
            schema: { columns: [{ name: 'Body Mass (g)', type: 'number' }] },
            errorPolicy: { mode: 'reject', maxErrorRate: 0.1 },
          },
        });
        assert.equal(res.status, 202, res.text);
        assert.equal(res.body.status, 'pending');
        const v = await settled(kiln, penguinsId, res.body.id);
        assert.equal(v.status, 'ready', v.failureReason);
        assert.equal(v.rowCount, 50);
        assert.equal(v.source.kind, 'records');
        assert.equal(typesOf(v)['Body Mass (g)'], 'number', 'the schema overrides inference');
        assertNumericProfile(
          v.profile.columns['Beak Length (mm)'],
          records.map((r) => r['Beak Length (mm)'] as number | null),
          'records beak',
        );
      });

      it('errorPolicy drop keeps the good rows and reports the bad ones', async () => {
        const csv = 'id,score\n1,0.5\n2,oops\n3,0.75\n';
        const v = await readyVersion(kiln, penguinsId, csv, {
          fileName: 'scores.csv',
          fields: {
            schema: JSON.stringify({ columns: [{ name: 'score', type: 'number' }] }),
            errorPolicy: JSON.stringify({ mode: 'drop' }),
          },
        });
        assert.equal(v.rowCount, 2);
        assert.equal(v.droppedRows, 1);
        assert.equal(v.errorCount, 1);
        assert.deepEqual(v.errors, [{ row: 2, column: 'score', message: 'expected a number, got "oops"' }]);
      });
    });

    describe('reading versions back', () => {
      it('previews rows page by page, exactly as in the raw file', async () => {
        const base = `/api/datasets/${penguinsId}/versions/${penguinsJsonVersion.id}/rows`;
        const first = await kiln.request('GET', `${base}?limit=5`);
        assert.equal(first.status, 200, first.text);
        assert.deepEqual(first.body.rows, penguins.slice(0, 5));
        assert.equal(first.body.hasMore, true);
        assert.equal(first.body.total, 344);
        assert.deepEqual(
          first.body.columns.map((c: { name: string }) => c.name),
          Object.keys(PENGUIN_TYPES),
        );
        const last = await kiln.request('GET', `${base}?offset=340&limit=10`);
        assert.deepEqual(last.body.rows, penguins.slice(340));
        assert.equal(last.body.hasMore, false);
        const dates = await kiln.request('GET', `/api/datasets/${seattleId}/versions/${seattleVersion.id}/rows?offset=1&limit=1`);
        assert.deepEqual(dates.body.rows, [
          { ...seattle[1], date: '2012-01-02T00:00:00.000Z', precipitation: 10.9, temp_max: 10.6, temp_min: 2.8, wind: 4.5 },
        ]);
        const tooMany = await kiln.request('GET', `${base}?limit=5000`);
        assert.equal(tooMany.status, 400);
        assert.equal(tooMany.body.errors[0].field, 'limit');
        const negative = await kiln.request('GET', `${base}?offset=-1`);
        assert.equal(negative.status, 400);
        assert.equal(negative.body.errors[0].field, 'offset');
        const otherDataset = await kiln.request('GET', `/api/datasets/${seattleId}/versions/${penguinsJsonVersion.id}/rows`);
        assert.equal(otherDataset.status, 404);
      });

      it('downloads NDJSON and CSV (streamed) that round-trip to the same data', async () => {
        const base = `${kiln.url}/api/datasets/${penguinsId}/versions/${penguinsJsonVersion.id}/download`;
        const auth = { authorization: `Bearer ${kiln.adminKey}` };
        const nd = await fetch(base, { headers: auth });
        assert.equal(nd.status, 200);
        assert.match(nd.headers.get('content-type') ?? '', /application\/x-ndjson/);
        assert.match(nd.headers.get('content-disposition') ?? '', /attachment; filename="penguins-v1\.ndjson"/);
        const lines = (await nd.text())
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as JsonRow);
        assert.deepEqual(lines, penguins);

        const csvRes = await fetch(`${base}?format=csv`, { headers: auth });
        assert.equal(csvRes.status, 200);
        assert.match(csvRes.headers.get('content-type') ?? '', /text\/csv/);
        const csvText = await csvRes.text();
        const parsed = parseCsv(csvText, { columns: true }) as Array<Record<string, string>>;
        assert.equal(parsed.length, 344);
        assert.deepEqual(
          parsed[3],
          { ...Object.fromEntries(Object.keys(PENGUIN_TYPES).map((k) => [k, ''])), Species: 'Adelie', Island: 'Torgersen' },
          'nulls are empty cells',
        );
        assert.equal(Number(parsed[0]!['Beak Length (mm)']), 39.1);
        // re-ingesting the download gives the very same stored data
        const again = await readyVersion(kiln, penguinsId, csvText, { fileName: 'download.csv' });
        assert.equal(again.contentHash, penguinsJsonVersion.contentHash);

        const badFormat = await kiln.request('GET', `/api/datasets/${penguinsId}/versions/${penguinsJsonVersion.id}/download?format=xlsx`);
        assert.equal(badFormat.status, 400);
        assert.equal(badFormat.body.errors[0].field, 'format');
      });

      it('rows and download of a version that is not ready are 409', async () => {
        const ds = await createDataset(kiln, 'never-ready');
        const v = await ingest(kiln, ds, 'a,b\n', { fileName: 'x.csv' });
        assert.equal(v.status, 'failed');
        const rows = await kiln.request('GET', `/api/datasets/${ds}/versions/${v.id}/rows`);
        assert.equal(rows.status, 409);
        assert.match(rows.body.detail, /is failed/);
        assert.equal((await kiln.request('GET', `/api/datasets/${ds}/versions/${v.id}/download`)).status, 409);
      });
    });

    describe('bad input: a clear answer, and no ready version', () => {
      let badId: string;
      before(async () => {
        badId = await createDataset(kiln, 'bad-input');
      });
      after(async () => {
        const versions = await kiln.request('GET', `/api/datasets/${badId}/versions`);
        assert.deepEqual(
          versions.body.filter((v: { status: string }) => v.status !== 'failed'),
          [],
          'only failed versions',
        );
        const ds = await kiln.request('GET', `/api/datasets/${badId}`);
        assert.equal(ds.body.latestReadyVersion, null);
      });

      /**
       * Content errors are found while processing. Asynchronously: accepted (the upload is durable),
       * then the version fails with a reason naming field and cause. Synchronously (Prefer: wait=N):
       * 422 problem+json with the same reason.
       */
      async function failsWith(
        data: Buffer | string,
        fileName: string,
        code: string,
        reason: RegExp,
        fields?: Record<string, string>,
      ): Promise<any> {
        const v = await ingest(kiln, badId, data, { fileName, fields });
        assert.equal(v.status, 'failed', `${fileName}: expected failed`);
        assert.equal(v.failureCode, code, v.failureReason);
        assert.match(v.failureReason, reason);
        assert.equal(v.rowCount, null);
        assert.equal(v.contentHash, null);
        const sync = await upload(kiln, badId, data, { fileName, fields, headers: { prefer: 'wait=30' } });
        assert.equal(sync.status, 422, sync.text);
        assert.equal(sync.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.equal(sync.headers.get('preference-applied'), 'wait=30');
        assert.match(sync.body.detail, reason);
        assert.equal(sync.body.failureCode, code);
        assert.equal((await kiln.request('GET', `/api/datasets/${badId}/versions/${sync.body.versionId}`)).body.status, 'failed');
        return v;
      }

      /** Refused at once: the status, a message naming the field, and no version created. */
      async function refused(res: { status: number; body: any; text: string }, status: number, detail: RegExp): Promise<void> {
        assert.equal(res.status, status, res.text);
        assert.match(res.body.detail, detail);
        assert.equal(res.body.status, status);
      }

      it('empty file → 422 at once', async () => {
        const before = (await kiln.request('GET', `/api/datasets/${badId}`)).body.versionCount;
        await refused(await upload(kiln, badId, '', { fileName: 'empty.csv' }), 422, /^file: the file is empty$/);
        assert.equal((await kiln.request('GET', `/api/datasets/${badId}`)).body.versionCount, before, 'no version was created');
      });

      it('header only → failed, "header row but no data rows"', async () => {
        await failsWith('a,b,c\n', 'header.csv', 'NO_DATA_ROWS', /^file: the file has a header row but no data rows$/);
      });

      it('duplicate and empty column names → failed, naming the column', async () => {
        await failsWith('a,b,a\n1,2,3\n', 'dup.csv', 'DUPLICATE_COLUMN', /duplicate column name "a" in the header/);
        await failsWith('a,,c\n1,2,3\n', 'empty-name.csv', 'EMPTY_COLUMN_NAME', /column 2 of the header has an empty name/);
      });

      it('ragged rows → failed with row errors naming the row', async () => {
        const v = await failsWith(
          'a,b\n1,2\n3,4,5\n6\n',
          'ragged.csv',
          'ERROR_RATE_EXCEEDED',
          /2 of 3 rows are invalid.*row 2: row has 3 fields, expected 2/,
        );
        assert.equal(v.errorCount, 2);
        assert.deepEqual(
          v.errors.map((e: { row: number }) => e.row),
          [2, 3],
        );
      });

      it('unbalanced quotes → failed', async () => {
        await failsWith('a,b\n1,"2\n3,4\n', 'quotes.csv', 'CSV_UNBALANCED_QUOTE', /unbalanced quotes/);
      });

      it('invalid UTF-8 → failed, naming the byte offset', async () => {
        const bad = Buffer.concat([Buffer.from('a,b\n1,caf'), Buffer.from([0xe9]), Buffer.from(',x\n')]);
        await failsWith(bad, 'latin1.csv', 'INVALID_UTF8', /not valid UTF-8 \(invalid byte sequence near byte \d+\)/);
      });

      it('truncated and corrupted gzip → failed', async () => {
        const gz = gzipSync(seattleCsv);
        await failsWith(gz.subarray(0, gz.length - 100), 'cut.csv.gz', 'GZIP_CORRUPT', /gzip data is truncated/);
        const corrupt = Buffer.from(gz);
        corrupt.fill(0x55, 200, 260);
        await failsWith(corrupt, 'corrupt.csv.gz', 'GZIP_CORRUPT', /gzip data is corrupt/);
      });

      it('a JSON file that is not an array of objects → failed', async () => {
        await failsWith('{"a": 1}', 'object.json', 'JSON_NOT_ARRAY_OF_OBJECTS', /must be an array of objects/);
      });

      it('a schema that contradicts the data → failed with row errors; a schema column not in the data → failed', async () => {
        const v = await failsWith(
          toCsv(penguins),
          'penguins.csv',
          'ERROR_RATE_EXCEEDED',
          /at least 100 of at least 100 rows are invalid, more than the allowed error rate 0\. First: row 1, column "Species": expected a number, got "Adelie"/,
          {
            schema: JSON.stringify({ columns: [{ name: 'Species', type: 'number' }] }),
          },
        );
        assert.deepEqual(v.errors[0], { row: 1, column: 'Species', message: 'expected a number, got "Adelie"' });
        await failsWith(
          'a,b\n1,2\n',
          'x.csv',
          'SCHEMA_UNKNOWN_COLUMN',
          /^schema: column "nope" is not in the data \(columns: "a", "b"\)$/,
          {
            schema: JSON.stringify({ columns: [{ name: 'nope', type: 'number' }] }),
          },
        );
      });

      it('wrong multipart field → 400 naming "file"; no file part → 400', async () => {
        await refused(
          await upload(kiln, badId, 'a,b\n1,2\n', { fileName: 'x.csv', fieldName: 'upload' }),
          400,
          /file: is required: the data must be in the multipart field "file", not "upload"/,
        );
        const form = new FormData();
        form.append('format', 'csv');
        const res = await fetch(`${kiln.url}/api/datasets/${badId}/versions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${kiln.adminKey}` },
          body: form,
        });
        const body = (await res.json()) as { detail: string };
        assert.equal(res.status, 400);
        assert.match(body.detail, /file: is required/);
      });

      it('unknown format → 415 (from the file name or the format field)', async () => {
        await refused(await upload(kiln, badId, 'x', { fileName: 'data.xlsx' }), 415, /file: cannot tell the format of "data\.xlsx"/);
        await refused(
          await upload(kiln, badId, 'x', { fileName: 'x.csv', fields: { format: 'parquet' } }),
          415,
          /format: unknown format "parquet"/,
        );
      });

      it('bad options → 400 naming the field', async () => {
        await refused(
          await upload(kiln, badId, 'a\n1\n', { fileName: 'x.csv', fields: { schema: '{not json' } }),
          400,
          /^schema: must be JSON text/,
        );
        await refused(
          await upload(kiln, badId, 'a\n1\n', {
            fileName: 'x.csv',
            fields: { schema: JSON.stringify({ columns: [{ name: 'a', type: 'decimal' }] }) },
          }),
          400,
          /schema\.columns\[0\]\.type: "decimal" is not one of number, integer, boolean, categorical, string, timestamp/,
        );
        await refused(
          await upload(kiln, badId, 'a\n1\n', { fileName: 'x.csv', fields: { errorPolicy: '{"mode":"skip"}' } }),
          400,
          /errorPolicy\.mode: must be "reject" or "drop"/,
        );
        await refused(
          await upload(kiln, badId, 'a\n1\n', { fileName: 'x.csv', fields: { colour: 'red' } }),
          400,
          /colour: is not a known field/,
        );
      });

      it('a JSON body that is not {records: [objects]} → 400 naming the field; empty records → 422', async () => {
        const path = `/api/datasets/${badId}/versions`;
        await refused(await kiln.request('POST', path, { body: [{ a: 1 }] }), 400, /body: must be a JSON object \{records/);
        await refused(
          await kiln.request('POST', path, { body: { records: { a: 1 } } }),
          400,
          /records: must be an array of objects, got object/,
        );
        await refused(
          await kiln.request('POST', path, { body: { records: [{ a: 1 }, 2] } }),
          400,
          /records\[1\]: must be an object, got number/,
        );
        await refused(await kiln.request('POST', path, { body: { records: [] } }), 422, /records: is an empty array/);
        await refused(await kiln.request('POST', path, { body: { rows: [] } }), 400, /rows: is not a known property/);
        await refused(
          await kiln.request('POST', path, { body: '{"records": [', headers: { 'content-type': 'application/json' } }),
          400,
          /not valid JSON/,
        );
        await refused(await kiln.request('POST', path, { body: 'a,b\n1,2\n', headers: { 'content-type': 'text/csv' } }), 415, /./);
      });
    });

    describe('queue jobs', () => {
      it('versions get 1, 2, 3… under concurrent uploads', async () => {
        const ds = await createDataset(kiln, 'concurrent');
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            kiln.request('POST', `/api/datasets/${ds}/versions`, { body: { records: [{ i, name: `n${i}` }] } }),
          ),
        );
        for (const r of results) assert.equal(r.status, 202, r.text);
        assert.deepEqual(
          results.map((r) => r.body.version as number).sort((a, b) => a - b),
          [1, 2, 3, 4, 5, 6, 7, 8],
        );
        for (const r of results) assert.equal((await settled(kiln, ds, r.body.id)).status, 'ready');
      });

      it(
        'a batch system enqueues straight onto the queue; ' + 'replaying the same job id gives one ready version, same content hash',
        async () => {
          const ds = await createDataset(kiln, 'from-queue');
          const ref = await kiln.app.get(ArtifactStore).put(gzipSync(seattleCsv));
          const queue = kiln.app.get<Queue>(getQueueToken(QueueName.Ingestion), { strict: false });
          const versionId = randomUUID();
          const payload: IngestionProcessVersionPayload = {
            payloadVersion: 1,
            datasetVersionId: versionId,
            datasetId: ds,
            artifactSha256: ref.sha256,
            fileName: 'seattle-weather.csv.gz',
            errorPolicy: { mode: 'reject' },
          };
          const id = jobId(JobName.IngestionProcessVersion, versionId);
          await Promise.all([
            queue.add(JobName.IngestionProcessVersion, payload, { jobId: id }),
            queue.add(JobName.IngestionProcessVersion, payload, { jobId: id }),
          ]);
          const v = await settled(kiln, ds, versionId);
          assert.equal(v.status, 'ready', v.failureReason);
          assert.equal(v.source.kind, 'queue');
          assert.equal(v.contentHash, seattleVersion.contentHash);
          const job = await completedJob(queue, id);
          assert.deepEqual(job.returnvalue, {
            datasetVersionId: versionId,
            datasetId: ds,
            version: 1,
            status: 'ready',
            rowCount: 1461,
            contentHash: v.contentHash,
          });

          // A replay after the job record is gone (e.g. removeOnComplete): the version is final, nothing changes.
          await job.remove();
          await queue.add(JobName.IngestionProcessVersion, payload, { jobId: id });
          const replay = await completedJob(queue, id);
          assert.deepEqual(replay.returnvalue, job.returnvalue);
          const versions = await kiln.request('GET', `/api/datasets/${ds}/versions`);
          assert.equal(versions.body.length, 1);
          assert.equal(versions.body[0].finishedAt, v.finishedAt, 'the ready version was not touched');
        },
      );

      it('a queued job for an unknown dataset or a missing artifact fails without retries and creates nothing ready', async () => {
        const queue = kiln.app.get<Queue>(getQueueToken(QueueName.Ingestion), { strict: false });
        const noDataset = randomUUID();
        await queue.add(
          JobName.IngestionProcessVersion,
          { payloadVersion: 1, datasetVersionId: noDataset, datasetId: randomUUID(), artifactSha256: 'a'.repeat(64), fileName: 'x.csv' },
          { jobId: jobId(JobName.IngestionProcessVersion, noDataset) },
        );
        const failed = await eventually(async () => {
          const j = await queue.getJob(jobId(JobName.IngestionProcessVersion, noDataset));
          return (await j?.getState()) === 'failed' ? j : undefined;
        });
        assert.match(failed!.failedReason, /datasetId: dataset .* not found/);
        assert.equal(failed!.attemptsMade, 1, 'not retried');

        const ds = await createDataset(kiln, 'missing-artifact');
        const versionId = randomUUID();
        await queue.add(
          JobName.IngestionProcessVersion,
          { payloadVersion: 1, datasetVersionId: versionId, datasetId: ds, artifactSha256: 'b'.repeat(64), fileName: 'x.csv' },
          { jobId: jobId(JobName.IngestionProcessVersion, versionId) },
        );
        const v = await settled(kiln, ds, versionId);
        assert.equal(v.status, 'failed');
        assert.equal(v.failureCode, 'ARTIFACT_NOT_FOUND');
        assert.match(v.failureReason, /artifactSha256: the raw data b{64} is not in the artifact store/);
      });

      it('a transient failure midway (the raw stream breaks) is retried from the raw upload; the version becomes ready once', async () => {
        const ds = await createDataset(kiln, 'flaky-disk');
        const store = kiln.app.get(ArtifactStore);
        const rawSha = createHash('sha256').update(seattleCsv).digest('hex');
        const original = store.get.bind(store);
        let broken = 0;
        store.get = async (sha: string) => {
          if (sha !== rawSha || broken > 0) return original(sha);
          broken++;
          // half the file, then an I/O error: the Arrow output in progress must be thrown away
          return Readable.from(
            (async function* () {
              yield seattleCsv.subarray(0, seattleCsv.length >> 1);
              throw Object.assign(new Error('EIO: i/o error, read (simulated)'), { code: 'EIO' });
            })(),
          );
        };
        try {
          const v = await readyVersion(kiln, ds, seattleCsv, { fileName: 'seattle-weather.csv' });
          assert.equal(broken, 1);
          assert.equal(v.attempts, 2, 'one failed attempt, one retry');
          assert.equal(v.contentHash, seattleVersion.contentHash);
          assert.equal(v.rowCount, 1461);
        } finally {
          store.get = original;
        }
      });

      it('progress (rows processed) is visible on the version while it is processing', async () => {
        const ds = await createDataset(kiln, 'progress');
        const lines = ['id,x,label'];
        for (let i = 0; i < 400_000; i++) lines.push(`${i},${(i * 0.37) % 101},${i % 3 === 0 ? 'a' : 'b'}`);
        const res = await upload(kiln, ds, lines.join('\n'), { fileName: 'big.csv' });
        assert.equal(res.status, 202);
        const seen = await eventually(
          async () => {
            const v = (await kiln.request('GET', `/api/datasets/${ds}/versions/${res.body.id}`)).body;
            if (v.status === 'ready') throw new Error('finished before progress was seen');
            return v.status === 'processing' && v.progress.rowsProcessed > 0 ? v.progress.rowsProcessed : undefined;
          },
          30_000,
          20,
        );
        assert.ok(seen > 0 && seen < 400_000, `partial progress ${seen}`);
        const done = await settled(kiln, ds, res.body.id, 60_000);
        assert.equal(done.status, 'ready', done.failureReason);
        assert.equal(done.progress.rowsProcessed, 400_000);
        assertClose(done.profile.columns.id.mean, 199_999.5, 'id mean');
      });
    });
  });
}

void main();
