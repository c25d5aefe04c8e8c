import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './kiln-config';
import { ROLES } from './process-roles';

describe('loadConfig', () => {
  it('defaults to the embedded, all-roles, PostgreSQL-queue setup', () => {
    const c = loadConfig({});
    assert.deepEqual(c.roles, [...ROLES]);
    assert.equal(c.http.port, 3000);
    assert.equal(c.http.host, '0.0.0.0');
    assert.equal(c.database.mode, 'embedded');
    assert.equal(c.queues.backend, 'postgres');
    assert.match(c.dataDir, /\/data$/);
  });

  it('uses DATABASE_URL and REDIS_URL when set', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/kiln',
      REDIS_URL: 'redis://cache:6379/2',
      KILN_ROLES: 'inference, audit',
    });
    assert.equal(c.database.mode, 'external');
    assert.equal(c.queues.backend, 'redis');
    assert.deepEqual(c.roles, ['inference', 'audit']);
  });

  it('reads the training worker options and the versions', () => {
    assert.deepEqual(loadConfig({}).training, { concurrency: 1, lockMs: 30_000, inProcess: false });
    const c = loadConfig({
      KILN_TRAINING_CONCURRENCY: '3',
      KILN_TRAINING_LOCK_MS: '4000',
      KILN_TRAINING_IN_PROCESS: '1',
      npm_package_version: '1.2.3',
    });
    assert.deepEqual(c.training, { concurrency: 3, lockMs: 4000, inProcess: true });
    assert.deepEqual(c.version, { package: '1.2.3', code: '1.2.3' });
    assert.deepEqual(loadConfig({ KILN_CODE_VERSION: 'abc123' }).version, { package: '0.1.0', code: 'abc123' });
    assert.deepEqual(loadConfig({}).version, { package: '0.1.0', code: 'unknown' });
  });

  it('keeps artifacts on the filesystem unless KILN_ARTIFACTS_URL names an S3 bucket', () => {
    const fs = loadConfig({ KILN_DATA_DIR: '/srv/kiln' });
    assert.deepEqual(fs.artifacts, { kind: 'filesystem', root: '/srv/kiln/artifacts' });
    assert.deepEqual(loadConfig({ KILN_ARTIFACTS_URL: 's3://kiln-artifacts' }).artifacts, {
      kind: 's3',
      bucket: 'kiln-artifacts',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
    });
    const minio = loadConfig({
      KILN_ARTIFACTS_URL: 's3://kiln-artifacts/prod/eu',
      AWS_ENDPOINT_URL: 'http://other:1',
      AWS_ENDPOINT_URL_S3: 'http://minio:9000',
      AWS_REGION: 'eu-west-1',
    });
    assert.deepEqual(minio.artifacts, {
      kind: 's3',
      bucket: 'kiln-artifacts',
      prefix: 'prod/eu/',
      endpoint: 'http://minio:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
    });
    const hosted = loadConfig({
      KILN_ARTIFACTS_URL: 's3://b12/',
      AWS_ENDPOINT_URL: 'https://r2.example',
      KILN_S3_FORCE_PATH_STYLE: 'false',
    });
    assert.deepEqual(hosted.artifacts, {
      kind: 's3',
      bucket: 'b12',
      prefix: '',
      endpoint: 'https://r2.example',
      region: 'us-east-1',
      forcePathStyle: false,
    });
  });

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ DATABASE_URL: 'mysql://x/y' }, /DATABASE_URL: must be a URL like postgres:/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL: must be a URL like redis:/],
    [{ PORT: 'eighty' }, /PORT: /],
    [{ KILN_ROLES: 'gateway,,audit' }, /KILN_ROLES: unknown role/],
    [{ KILN_ROLES: 'everything' }, /KILN_ROLES: unknown role "everything"/],
    [{ KILN_METRICS: 'maybe' }, /KILN_METRICS: /],
    [{ KILN_ADMIN_KEY: 'short' }, /KILN_ADMIN_KEY: must be at least 24 characters/],
    [{ KILN_TF_BACKEND: 'cuda' }, /KILN_TF_BACKEND: /],
    [{ KILN_TRAINING_CONCURRENCY: 'two' }, /KILN_TRAINING_CONCURRENCY: /],
    [{ KILN_TRAINING_CONCURRENCY: '0' }, /KILN_TRAINING_CONCURRENCY: /],
    [{ KILN_TRAINING_LOCK_MS: '1.5' }, /KILN_TRAINING_LOCK_MS: /],
    [{ KILN_TRAINING_IN_PROCESS: 'yes' }, /KILN_TRAINING_IN_PROCESS: /],
    [{ KILN_ARTIFACTS_URL: 'https://bucket.s3.amazonaws.com' }, /KILN_ARTIFACTS_URL: must be a URL like s3:\/\/bucket\/prefix/],
    [{ KILN_ARTIFACTS_URL: 's3://ab' }, /KILN_ARTIFACTS_URL: /],
    [{ KILN_ARTIFACTS_URL: 's3://Upper-Case' }, /KILN_ARTIFACTS_URL: /],
    [{ AWS_ENDPOINT_URL_S3: 'minio:9000' }, /AWS_ENDPOINT_URL_S3: must be a URL like http:/],
    [{ KILN_S3_FORCE_PATH_STYLE: 'yes' }, /KILN_S3_FORCE_PATH_STYLE: /],
  ];
  for (const [env, message] of bad) {
    it(`stops on ${JSON.stringify(env)} naming the variable`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});
