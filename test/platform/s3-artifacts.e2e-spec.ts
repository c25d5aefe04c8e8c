/**
 * A whole Kiln (machine's PostgreSQL, PostgreSQL queue backend) with its artifact store in an S3 bucket
 * (KILN_ARTIFACTS_URL on an s3rver the test starts): a dataset uploaded, a model trained in the training
 * worker thread (which reopens the store from its plain location and reads the dataset from the bucket),
 * predictions served from the stored model, everything in the bucket and nothing under the data directory;
 * readiness checks the bucket and names it when it is gone.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { PENGUIN_FEATURES, penguinRecords, trainModel } from '../inference/inference-helpers';
import { createDataset, penguinsRows, readyVersion } from '../ingestion/ingestion-helpers';
import { S3RVER_CREDENTIALS, startS3Server, type TestS3Server } from '../support/s3-server';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

// The AWS SDK default credential chain reads these, in this thread and in the training worker threads
// (which share the process environment); they are never part of Kiln's configuration or job data.
process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;

const MODEL = 's3-penguins';

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('artifacts in an S3 bucket on configuration "postgres"', { skip }, () => {
    let s3: TestS3Server;
    let kiln: TestKiln;

    before(async () => {
      s3 = await startS3Server();
      kiln = await startTestKiln('postgres', { KILN_ARTIFACTS_URL: `s3://${s3.bucket}/kiln`, AWS_ENDPOINT_URL_S3: s3.endpoint });
    });
    after(async () => {
      await kiln?.close();
      await s3?.close();
    });

    it('is ready when the bucket answers', async () => {
      const res = await kiln.request('GET', '/health/ready', { key: null });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.details.artifacts.status, 'up');
    });

    it('uploads, trains in the worker thread and predicts with every artifact in the bucket', async () => {
      const datasetId = await createDataset(kiln, 'penguins-s3');
      const version = await readyVersion(kiln, datasetId, Buffer.from(JSON.stringify(penguinsRows())), { fileName: 'penguins.json' });
      const keys = await s3.keys('kiln/');
      assert.ok(keys.includes(`kiln/${keyOf(version.source.sha256)}`), 'the uploaded file');
      assert.ok(keys.includes(`kiln/${keyOf(version.contentHash)}`), 'the columnar dataset data the worker thread reads');

      const trained = await trainModel(kiln, {
        datasetVersionId: version.id,
        modelName: MODEL,
        target: 'Species',
        features: PENGUIN_FEATURES,
        hyperparameters: { epochs: 3 },
        promote: 'always',
      });
      assert.equal(trained, 1);
      const v = (await kiln.request('GET', `/api/models/${MODEL}/versions/1`)).body;
      const stored = await s3.keys('kiln/');
      assert.ok(stored.includes(`kiln/${keyOf(v.artifacts.modelJson)}`), 'model.json in the bucket');
      assert.ok(stored.includes(`kiln/${keyOf(v.artifacts.weights)}`), 'weights in the bucket');
      assert.deepEqual(
        stored.filter((k) => k.startsWith('kiln/tmp/')),
        [],
        'no temporary objects',
      );
      assert.deepEqual(await readdir(kiln.dataDir).then((d) => d.filter((n) => n === 'artifacts')), [], 'no filesystem artifacts');

      const res = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records: penguinRecords(5) } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.predictions.length, 5, res.text);
    });

    it('answers 503 on /health/ready naming the bucket when the S3 server is gone', async () => {
      await s3.close();
      const res = await kiln.request('GET', '/health/ready', { key: null });
      assert.equal(res.status, 503, res.text);
      assert.deepEqual(res.body.failing, ['artifacts']);
      assert.match(res.body.detail, new RegExp(`^not ready: artifacts \\(S3 bucket "${s3.bucket}" at ${s3.endpoint}: `));
    });
  });
}

function keyOf(sha256: string): string {
  return `sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

void main();
