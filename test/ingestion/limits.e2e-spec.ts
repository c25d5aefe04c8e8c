/**
 * Size limits, on a Kiln started with a small KILN_UPLOAD_LIMIT_BYTES (configuration "postgres"):
 * an over-size upload is 413 and stores nothing; a gzip bomb is stopped at the inflated-size cap
 * (4 × the upload limit) and its version fails.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { createDataset, ingest, readyVersion, upload, vegaFile } from './ingestion-helpers';

const LIMIT = 64 * 1024;

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe(`ingestion limits (KILN_UPLOAD_LIMIT_BYTES=${LIMIT})`, { skip }, () => {
    let kiln: TestKiln;
    let ds: string;
    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_UPLOAD_LIMIT_BYTES: String(LIMIT) });
      ds = await createDataset(kiln, 'limits');
    });
    after(async () => {
      await kiln?.close();
    });

    it('accepts a file under the limit (seattle-weather.csv, 48 KB)', async () => {
      const csv = vegaFile('seattle-weather.csv');
      assert.ok(csv.length < LIMIT);
      const v = await readyVersion(kiln, ds, csv, { fileName: 'seattle-weather.csv' });
      assert.equal(v.rowCount, 1461);
    });

    it('an upload over the limit is 413, names the limit, and stores nothing', async () => {
      const before = await readdir(join(kiln.dataDir, 'artifacts', 'sha256'), { recursive: true });
      const big = Buffer.concat([vegaFile('seattle-weather.csv'), vegaFile('seattle-weather.csv')]);
      assert.ok(big.length > LIMIT);
      const res = await upload(kiln, ds, big, { fileName: 'twice.csv' });
      assert.equal(res.status, 413, res.text);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.match(res.body.detail, new RegExp(`file: the upload exceeds the limit of ${LIMIT} bytes \\(KILN_UPLOAD_LIMIT_BYTES\\)`));
      const after = await readdir(join(kiln.dataDir, 'artifacts', 'sha256'), { recursive: true });
      assert.deepEqual(after.sort(), before.sort(), 'no artifact was stored');
      const tmp = await readdir(join(kiln.dataDir, 'artifacts', 'tmp'));
      assert.deepEqual(
        tmp.filter((f) => f.endsWith('.part')),
        [],
        'no partial upload left behind',
      );
      const versions = await kiln.request('GET', `/api/datasets/${ds}/versions`);
      assert.equal(versions.body.length, 1, 'no version was created');
      // a {records} body is held to the same limit once stored as NDJSON
      const records = Array.from({ length: 3000 }, (_, i) => ({ i, text: 'x'.repeat(20) }));
      const rec = await kiln.request('POST', `/api/datasets/${ds}/versions`, { body: { records } });
      assert.equal(rec.status, 413, rec.text);
    });

    it('a gzip bomb is stopped at the inflated-size cap: 413-class failure, no ready version', async () => {
      const row = '1,2,3,4,5,6,7,8,9,10\n';
      const bomb = gzipSync(Buffer.from('a,b,c,d,e,f,g,h,i,j\n' + row.repeat(500_000)), { level: 9 });
      assert.ok(bomb.length < LIMIT, `bomb is ${bomb.length} bytes compressed`);
      const v = await ingest(kiln, ds, bomb, { fileName: 'bomb.csv.gz' });
      assert.equal(v.status, 'failed');
      assert.equal(v.failureCode, 'GZIP_TOO_LARGE');
      assert.match(
        v.failureReason,
        new RegExp(`^file: the gzip data inflates to more than the limit of ${4 * LIMIT} bytes \\(possible gzip bomb\\)$`),
      );
      const versions = await kiln.request('GET', `/api/datasets/${ds}/versions`);
      assert.deepEqual(
        versions.body.map((x: { status: string }) => x.status),
        ['ready', 'failed'],
      );
    });
  });
}

void main();
