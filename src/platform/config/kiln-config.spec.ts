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

  it('turns the split-deployment RPC on only with KILN_TRANSPORT, and calls ingestion only from a gateway without it', () => {
    assert.deepEqual(loadConfig({}).rpc, { serve: false, timeoutMs: 3000 });
    assert.equal(loadConfig({}).transport, 'tcp');
    const all = loadConfig({ KILN_TRANSPORT: 'tcp', KILN_RPC_PORT: '4001' }).rpc;
    assert.equal(all.serve, true);
    assert.equal(all.targets, undefined, 'one process calls its own services');
    assert.deepEqual(all.serves, ['ingestion', 'training', 'models', 'audit', 'inference', 'batch']);
    const gateway = loadConfig({
      KILN_ROLES: 'gateway',
      KILN_TRANSPORT: 'tcp',
      KILN_RPC_INGESTION: 'ingestion:4001',
      KILN_RPC_TIMEOUT_MS: '500',
    });
    assert.deepEqual(gateway.rpc.targets, { ingestion: { host: 'ingestion', port: 4001 } }, 'other TCP targets are optional');
    assert.equal(gateway.rpc.serve, false);
    assert.equal(gateway.rpc.timeoutMs, 500);
    const nats = loadConfig({ KILN_ROLES: 'gateway', KILN_TRANSPORT: 'nats', NATS_URL: 'nats://127.0.0.1:4222' }).rpc;
    assert.deepEqual(nats.targets, {
      ingestion: 'broker',
      training: 'broker',
      models: 'broker',
      audit: 'broker',
      inference: 'broker',
      batch: 'broker',
    });
    const tcpGateway = loadConfig({
      KILN_ROLES: 'gateway',
      KILN_TRANSPORT: 'tcp',
      KILN_RPC_INGESTION: 'ingestion:4001',
      KILN_RPC_TRAINING: 'training:4002',
      KILN_RPC_AUDIT: 'audit:4003',
      KILN_RPC_INFERENCE: 'inference:4004',
    }).rpc;
    assert.deepEqual(tcpGateway.targets?.models, { host: 'training', port: 4002 }, 'the registry is the training app');
    assert.deepEqual(tcpGateway.targets?.inference, { host: 'inference', port: 4004 });
    assert.deepEqual(tcpGateway.targets?.batch, { host: 'inference', port: 4004 });
    const training = loadConfig({ KILN_ROLES: 'training', KILN_TRANSPORT: 'tcp', KILN_RPC_PORT: '4002' }).rpc;
    assert.deepEqual(training.serves, ['training', 'models']);
    assert.equal(loadConfig({ KILN_ROLES: 'audit', KILN_TRANSPORT: 'tcp' }).rpc.serve, false, 'TCP serves only with KILN_RPC_PORT');
    assert.equal(loadConfig({ KILN_ROLES: 'ingestion', KILN_TRANSPORT: 'redis', REDIS_URL: 'redis://h:6379' }).rpc.serve, true);
  });

  it('writes 4 audit group commits at once unless KILN_AUDIT_COMMITS_IN_FLIGHT says otherwise', () => {
    assert.equal(loadConfig({}).audit.commitsInFlight, 4);
    assert.equal(loadConfig({ KILN_AUDIT_COMMITS_IN_FLIGHT: '16' }).audit.commitsInFlight, 16);
  });

  it('opens the gRPC listener only with KILN_GRPC_PORT', () => {
    assert.deepEqual(loadConfig({}).grpc, { port: null });
    assert.deepEqual(loadConfig({ KILN_GRPC_PORT: '8001' }).grpc, { port: 8001 });
    assert.deepEqual(loadConfig({ KILN_GRPC_PORT: '0', PORT: '0' }).grpc, { port: 0 });
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
    [{ KILN_TRANSPORT: 'kafka' }, /KILN_TRANSPORT: /],
    [{ KILN_TRANSPORT: 'nats' }, /NATS_URL: required with KILN_TRANSPORT=nats/],
    [{ KILN_TRANSPORT: 'nats', NATS_URL: 'http://host:4222' }, /NATS_URL: must be a URL like nats:/],
    [{ KILN_TRANSPORT: 'redis', KILN_ROLES: 'gateway' }, /REDIS_URL: required with KILN_TRANSPORT=redis/],
    [{ KILN_TRANSPORT: 'tcp', KILN_ROLES: 'ingestion' }, /KILN_RPC_PORT: required with KILN_TRANSPORT=tcp/],
    [{ KILN_TRANSPORT: 'tcp', KILN_ROLES: 'gateway' }, /KILN_RPC_INGESTION: required with KILN_TRANSPORT=tcp/],
    [{ KILN_TRANSPORT: 'tcp', KILN_ROLES: 'gateway', KILN_RPC_INGESTION: 'ingestion' }, /KILN_RPC_INGESTION: must be host:port/],
    [{ KILN_RPC_PORT: '70000' }, /KILN_RPC_PORT: /],
    [{ KILN_RPC_TIMEOUT_MS: '10' }, /KILN_RPC_TIMEOUT_MS: /],
    [{ KILN_GRPC_PORT: 'grpc' }, /KILN_GRPC_PORT: /],
    [{ KILN_GRPC_PORT: '65536' }, /KILN_GRPC_PORT: /],
    [{ KILN_GRPC_PORT: '3000' }, /KILN_GRPC_PORT: must differ from PORT \(3000\)/],
    [{ KILN_GRPC_PORT: '4001', KILN_RPC_PORT: '4001' }, /KILN_GRPC_PORT: must differ from KILN_RPC_PORT/],
    [{ KILN_AUDIT_COMMITS_IN_FLIGHT: '17' }, /KILN_AUDIT_COMMITS_IN_FLIGHT: /],
    [{ KILN_AUDIT_COMMITS_IN_FLIGHT: '0' }, /KILN_AUDIT_COMMITS_IN_FLIGHT: /],
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
