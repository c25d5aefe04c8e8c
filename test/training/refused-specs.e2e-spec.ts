/**
 * Training specs that can only fail are refused with 400 problem+json before anything is stored or
 * queued (README "Training and the model registry"): each case names its field, and the job list
 * stays empty.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { createDataset, readyVersion, toCsv } from '../ingestion/ingestion-helpers';

async function main(): Promise<void> {
  const skip = await skipUnless('embedded');
  describe('training specs refused before queueing', { skip }, () => {
    let kiln: TestKiln;
    let penguins: any;
    let tiny: any;

    before(async () => {
      kiln = await startTestKiln('embedded');
      const data = Array.from({ length: 60 }, (_, i) => ({
        x: i,
        flag: i % 2,
        churn: i % 3 === 0 ? 'yes' : 'no',
        Species: ['A', 'B', 'C'][i % 3]!,
      }));
      penguins = await readyVersion(kiln, await createDataset(kiln, 'synthetic'), toCsv(data), { fileName: 'synthetic.csv' });
      const rows = [
        { x: 1, y: 'a' },
        { x: 2, y: 'b' },
        { x: 3, y: 'a' },
        { x: 4, y: 'b' },
      ];
      tiny = await readyVersion(kiln, await createDataset(kiln, 'tiny'), toCsv(rows), { fileName: 'tiny.csv' });
    });
    after(async () => {
      await kiln?.close();
    });

    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['positiveClass not a string', { target: 'churn', positiveClass: { a: 1 } }, 'positiveClass', /string/],
      ['positiveClass not a class', { target: 'churn', positiveClass: 'maybe' }, 'positiveClass', /no, yes/],
      ['positiveClass not a value of a numeric 0/1 target', { target: 'flag', positiveClass: '7' }, 'positiveClass', /0, 1/],
      ['positiveClass on a multiclass target', { target: 'Species', positiveClass: 'A' }, 'positiveClass', /binary/],
      ['classWeights nonsense', { hyperparameters: { classWeights: 'nonsense' } }, 'hyperparameters.classWeights', /balanced/],
      ['classWeights unknown class', { hyperparameters: { classWeights: { Dodo: 2 } } }, 'hyperparameters.classWeights.Dodo', /class/],
      ['hyperparameters array', { hyperparameters: [1, 2] }, 'hyperparameters', /object/],
      ['hiddenUnits on linear', { template: 'linear', hyperparameters: { hiddenUnits: [8] } }, 'hyperparameters.hiddenUnits', /linear/],
      ['unknown top-level key', { learningRate: 0.1 }, 'learningRate', /not|unknown|should/],
    ];
    for (const [name, extra, field, reason] of cases) {
      it(`refuses ${name} (400 naming ${field})`, async () => {
        const body = { datasetVersionId: penguins.id, target: 'Species', modelName: 'refused', ...extra };
        const res = await kiln.request('POST', '/api/training-jobs', { body });
        assert.equal(res.status, 400, res.text);
        assert.match(String(res.headers.get('content-type')), /application\/problem\+json/);
        const err = (res.body.errors ?? []).find((e: any) => e.field === field);
        assert.ok(err, `no error for ${field}: ${res.text}`);
        assert.match(err.reason, reason, res.text);
      });
    }

    it('refuses a dataset too small to split, by the trainer’s own split rules', async () => {
      const res = await kiln.request('POST', '/api/training-jobs', { body: { datasetVersionId: tiny.id, target: 'y', modelName: 'tiny' } });
      assert.equal(res.status, 400, res.text);
      const err = res.body.errors.find((e: any) => e.field === 'split');
      assert.ok(err, res.text);
      assert.match(err.reason, /4 rows are too few/);
    });

    it('queued and stored nothing, and still accepts a good spec', async () => {
      const list = await kiln.request('GET', '/api/training-jobs');
      assert.deepEqual(list.body, [], 'nothing was queued');
      const ok = await kiln.request('POST', '/api/training-jobs', {
        body: {
          datasetVersionId: penguins.id,
          target: 'churn',
          positiveClass: 'yes',
          modelName: 'ok',
          hyperparameters: { epochs: 1, classWeights: 'balanced' },
        },
      });
      assert.equal(ok.status, 202, ok.text);
      assert.equal((await kiln.request('GET', '/api/training-jobs')).body.length, 1);
    });
  });
}

void main();
