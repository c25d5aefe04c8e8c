/** The ingestion happy path on the Redis queue backend (configuration "redis"). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { assertNumericProfile, createDataset, penguinsRows, readyVersion, vegaFile } from './ingestion-helpers';

async function main(): Promise<void> {
  const skip = await skipUnless('redis');
  describe('ingestion on configuration "redis"', { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln('redis');
    });
    after(async () => {
      await kiln?.close();
    });

    it('uploads penguins.json, waits until ready, previews and downloads it', async () => {
      const penguins = penguinsRows();
      const ds = await createDataset(kiln, 'penguins');
      const v = await readyVersion(kiln, ds, vegaFile('penguins.json'), { fileName: 'penguins.json' });
      assert.equal(v.rowCount, 344);
      assertNumericProfile(
        v.profile.columns['Body Mass (g)'],
        penguins.map((r) => r['Body Mass (g)'] as number | null),
        'Body Mass (g)',
      );
      const page = await kiln.request('GET', `/api/datasets/${ds}/versions/${v.id}/rows?offset=10&limit=3`);
      assert.deepEqual(page.body.rows, penguins.slice(10, 13));
      const nd = await fetch(`${kiln.url}/api/datasets/${ds}/versions/${v.id}/download`, {
        headers: { authorization: `Bearer ${kiln.adminKey}` },
      });
      assert.deepEqual(
        (await nd.text())
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l)),
        penguins,
      );
      const records = await kiln.request('POST', `/api/datasets/${ds}/versions`, { body: { records: penguins.slice(0, 20) } });
      assert.equal(records.status, 202);
      assert.equal(records.body.version, 2);
    });
  });
}

void main();
