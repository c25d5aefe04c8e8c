/**
 * Every synchronous use case of the gateway goes through its domain's port, and over KILN_TRANSPORT=tcp
 * when split: a gateway process and a process with every domain role (ingestion, training, inference,
 * audit) on one database. While the domain process answers, an error raised by a domain service reaches
 * the client through the gateway with the same status and problem+json body the domain process gives on
 * its own HTTP API (404, 409, 400 with field errors). Once it is stopped, EVERY listed management route
 * of the gateway answers 503 (504 for a write that got no answer) naming the service it calls, within
 * the gateway's KILN_RPC_TIMEOUT_MS — which a route still served from the gateway's own database would not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditStaging } from '../../src/audit/audit-staging';
import { AuditChainer } from '../../src/audit/log/audit-chainer.service';
import { startKiln } from '../../src/bootstrap';
import { loadConfig } from '../../src/platform/config/kiln-config';
import { createRootLogger } from '../../src/platform/logging/logging';
import { freeLoopbackPort } from '../../src/platform/util/free-port';
import { livePrediction } from '../audit/audit-records';
import { httpRequest, skipUnless, testEnvironment, type TestResponse } from '../utils/test-kiln';

const NO_DATASET = '00000000-0000-4000-8000-000000000000';
const NO_JOB = '00000000-0000-4000-8000-000000000001';

type Route = [method: string, path: string, body: unknown, service: 'ingestion' | 'training' | 'models' | 'audit' | 'inference' | 'batch'];

/** Management routes of the gateway and the service each must reach. */
const ROUTES: Route[] = [
  ['GET', '/api/datasets', undefined, 'ingestion'],
  ['POST', '/api/datasets', { name: 'ports-down' }, 'ingestion'],
  ['GET', `/api/datasets/${NO_DATASET}`, undefined, 'ingestion'],
  ['GET', `/api/datasets/${NO_DATASET}/versions`, undefined, 'ingestion'],
  ['GET', `/api/datasets/${NO_DATASET}/versions/${NO_JOB}`, undefined, 'ingestion'],
  ['GET', `/api/datasets/${NO_DATASET}/versions/${NO_JOB}/rows`, undefined, 'ingestion'],
  ['GET', `/api/datasets/${NO_DATASET}/versions/${NO_JOB}/download`, undefined, 'ingestion'],
  ['POST', `/api/datasets/${NO_DATASET}/versions`, { records: [{ a: 1 }] }, 'ingestion'],
  ['GET', '/api/training-jobs', undefined, 'training'],
  ['POST', '/api/training-jobs', { datasetVersionId: NO_DATASET, target: 'y', modelName: 'ports' }, 'training'],
  ['GET', `/api/training-jobs/${NO_JOB}`, undefined, 'training'],
  ['GET', `/api/training-jobs/${NO_JOB}/events`, undefined, 'training'],
  ['GET', `/api/training-jobs/${NO_JOB}/test-predictions`, undefined, 'training'],
  ['POST', `/api/training-jobs/${NO_JOB}/cancel`, undefined, 'training'],
  ['GET', '/api/models', undefined, 'models'],
  ['GET', '/api/models/ports', undefined, 'models'],
  ['GET', '/api/models/ports/versions', undefined, 'models'],
  ['GET', '/api/models/ports/versions/1', undefined, 'models'],
  ['POST', '/api/models/ports/versions/1/archive', undefined, 'models'],
  ['PUT', '/api/models/ports/aliases/production', { version: 1 }, 'models'],
  ['DELETE', '/api/models/ports/aliases/production', undefined, 'models'],
  ['GET', '/api/models/ports/aliases/production/history', undefined, 'models'],
  ['GET', '/api/models/ports/deployment', undefined, 'models'],
  ['PUT', '/api/models/ports/deployment', { routes: [{ version: 1, weight: 1 }] }, 'models'],
  ['DELETE', '/api/models/ports/deployment', undefined, 'models'],
  ['GET', '/api/models/ports/serving', undefined, 'models'],
  ['PUT', '/api/models/ports/serving', {}, 'models'],
  ['GET', '/api/audit/verify?chain=events', undefined, 'audit'],
  ['GET', '/api/audit/predictions', undefined, 'audit'],
  ['GET', '/api/audit/predictions/no-such-request', undefined, 'audit'],
  ['GET', '/api/audit/events', undefined, 'audit'],
  ['POST', '/api/feedback', { requestId: 'no-such-request', actual: 1 }, 'audit'],
  ['GET', '/api/models/ports/monitoring', undefined, 'audit'],
  ['GET', '/api/models/ports/drift', undefined, 'audit'],
  ['POST', '/api/models/ports/drift/check', undefined, 'audit'],
  ['GET', '/api/models/ports/drift-settings', undefined, 'audit'],
  ['PUT', '/api/models/ports/drift-settings', { onDrift: null }, 'audit'],
  ['GET', '/api/audit/checkpoints', undefined, 'audit'],
  ['GET', '/api/audit/predictions/export', undefined, 'audit'],
  ['POST', '/api/audit/checkpoints', undefined, 'audit'],
  ['GET', '/api/batch-predictions', undefined, 'batch'],
  ['POST', '/api/batch-predictions', { model: 'ports', datasetVersionId: NO_DATASET }, 'batch'],
  ['GET', `/api/batch-predictions/${NO_JOB}`, undefined, 'batch'],
  ['POST', `/api/batch-predictions/${NO_JOB}/cancel`, undefined, 'batch'],
  ['GET', '/api/inference/repository', undefined, 'inference'],
  ['GET', '/api/inference/models/ports/stats', undefined, 'inference'],
  ['POST', '/api/inference/models/ports/load', undefined, 'inference'],
  ['POST', '/api/inference/models/ports/unload', undefined, 'inference'],
];

/** Errors raised inside a domain service (not by the gateway's own validation), each compared across the hop. */
const ERRORS: Array<[method: string, path: string, body: unknown, status: number]> = [
  ['GET', `/api/datasets/${NO_DATASET}`, undefined, 404],
  ['POST', '/api/datasets', { name: 'ports-taken' }, 409],
  ['GET', `/api/datasets/${NO_DATASET}/versions/${NO_JOB}`, undefined, 404],
  ['GET', `/api/datasets/${NO_DATASET}/versions/${NO_JOB}/download?format=csv`, undefined, 404],
  ['GET', '/api/audit/predictions/export?version=1', undefined, 400],
  ['POST', `/api/datasets/${NO_DATASET}/versions`, { records: [{ a: 1 }] }, 404],
  ['POST', '/api/training-jobs', { datasetVersionId: NO_DATASET, target: 'y', modelName: 'ports' }, 404],
  ['GET', `/api/training-jobs/${NO_JOB}`, undefined, 404],
  ['POST', `/api/training-jobs/${NO_JOB}/cancel`, undefined, 404],
  ['GET', '/api/models/ports', undefined, 404],
  ['PUT', '/api/models/ports/aliases/production', { version: 1 }, 404],
  ['GET', '/api/models/ports/deployment', undefined, 404],
  ['GET', '/api/audit/predictions/no-such-request', undefined, 404],
  ['GET', '/api/audit/verify?chain=events&from=yesterday', undefined, 400],
  ['POST', '/api/feedback', { requestId: 'no-such-request', actual: 1 }, 404],
  ['POST', '/api/feedback', { requestId: 'x', actual: 1, extra: true }, 400],
  ['GET', '/api/models/ports/monitoring?window=forever', undefined, 400],
  ['GET', '/api/models/ports/drift', undefined, 404],
  ['POST', '/api/inference/models/ports/load', undefined, 404],
  ['POST', '/api/batch-predictions', { model: 'ports', datasetVersionId: NO_DATASET }, 404],
  ['GET', `/api/batch-predictions/${NO_JOB}`, undefined, 404],
  ['POST', `/api/batch-predictions/${NO_JOB}/cancel`, undefined, 404],
];

const withoutRequest = ({ requestId: _id, ...rest }: Record<string, unknown>) => rest;

describe('ports: every gateway use case crosses KILN_TRANSPORT=tcp, errors keep their meaning', async () => {
  const skip = await skipUnless('redis');
  let environment: Awaited<ReturnType<typeof testEnvironment>> | undefined;
  let domains: Awaited<ReturnType<typeof startKiln>> | undefined;
  let gateway: Awaited<ReturnType<typeof startKiln>> | undefined;
  let key = '';
  const call = (url: string, [method, path, body]: [string, string, unknown?, ...unknown[]]): Promise<TestResponse> =>
    httpRequest(url, key, method, path, body === undefined ? {} : { body });

  before(async () => {
    if (skip) return;
    environment = await testEnvironment('redis');
    const { env } = environment;
    key = env.KILN_ADMIN_KEY!;
    const rpcPort = await freeLoopbackPort();
    const target = `127.0.0.1:${rpcPort}`;
    const domainConfig = loadConfig({
      ...env,
      KILN_ROLES: 'ingestion,training,inference,audit',
      KILN_TRANSPORT: 'tcp',
      KILN_RPC_PORT: String(rpcPort),
    });
    domains = await startKiln(domainConfig, createRootLogger(domainConfig));
    const gatewayConfig = loadConfig({
      ...env,
      KILN_ROLES: 'gateway',
      KILN_TRANSPORT: 'tcp',
      KILN_RPC_TIMEOUT_MS: '1000',
      KILN_RPC_INGESTION: target,
      KILN_RPC_TRAINING: target,
      KILN_RPC_AUDIT: target,
      KILN_RPC_INFERENCE: target,
    });
    gateway = await startKiln(gatewayConfig, createRootLogger(gatewayConfig));
  });

  after(async () => {
    await gateway?.close();
    await domains?.close();
    await environment?.cleanup();
  });

  it('answers through the gateway what the domain process answers, errors included', { skip }, async () => {
    const taken = await call(domains!.url, ['POST', '/api/datasets', { name: 'ports-taken' }]);
    assert.equal(taken.status, 201, taken.text);
    for (const route of ERRORS) {
      const [direct, through] = [await call(domains!.url, route), await call(gateway!.url, route)];
      const label = `${route[0]} ${route[1]}`;
      assert.equal(direct.status, route[3], `${label} on the domain process: ${direct.text}`);
      assert.equal(through.status, direct.status, `${label} through the gateway: ${through.text}`);
      assert.equal(through.headers.get('content-type'), direct.headers.get('content-type'), label);
      assert.deepEqual(withoutRequest(through.body), withoutRequest(direct.body), label);
    }
    // Successful reads too: the same dataset list, and the inference replica that answered is the domain process.
    const [listDirect, listThrough] = [
      await call(domains!.url, ['GET', '/api/datasets']),
      await call(gateway!.url, ['GET', '/api/datasets']),
    ];
    assert.equal(listThrough.status, 200, listThrough.text);
    assert.deepEqual(listThrough.body, listDirect.body);
    const index = await call(gateway!.url, ['GET', '/api/inference/repository']);
    assert.equal(index.status, 200, index.text);
    assert.match(index.body.replica, new RegExp(`:${process.pid}$`));
    const ready = (await (await fetch(`${gateway!.url}/health/ready`)).json()) as { services: Record<string, { status: string }> };
    assert.deepEqual(Object.fromEntries(Object.entries(ready.services).map(([s, h]) => [s, h.status])), {
      ingestion: 'up',
      training: 'up',
      models: 'up',
      audit: 'up',
      inference: 'up',
      batch: 'up',
    });
    // Key management is the gateway's: a domain process does not serve /api/keys (it still authenticates).
    assert.equal((await call(domains!.url, ['GET', '/api/keys'])).status, 404);
    assert.equal((await call(gateway!.url, ['GET', '/api/keys'])).status, 200);
    // The signed checkpoints come from the audit service: the same public key as the domain process publishes.
    const [keysDirect, keysThrough] = [
      await call(domains!.url, ['GET', '/api/audit/checkpoints']),
      await call(gateway!.url, ['GET', '/api/audit/checkpoints']),
    ];
    assert.equal(keysThrough.status, 200, keysThrough.text);
    assert.deepEqual(keysThrough.body, keysDirect.body);
  });

  it('a prediction record not chained yet is found through the gateway as the audit process answers it', { skip }, async () => {
    // staged as every process's AuditSink stages a call's record before answering it, the audit process's chainer paused
    const chainer = domains!.app.get(AuditChainer);
    await chainer.pause();
    try {
      const requestId = `ports-staged-${Date.now()}`;
      await domains!.app.get(AuditStaging).stage({ payloadVersion: 1, predictions: [livePrediction(requestId)], events: [] });
      const route: [string, string] = ['GET', `/api/audit/predictions/${requestId}`];
      const [direct, through] = [await call(domains!.url, route), await call(gateway!.url, route)];
      assert.equal(through.status, 200, through.text);
      assert.deepEqual([through.body.requestId, through.body.seq, through.body.hash, through.body.chained], [requestId, null, null, false]);
      assert.deepEqual(through.body, direct.body);
    } finally {
      chainer.resume();
    }
  });

  it('answers 503/504 naming the service on every route once the domain process is gone', { skip }, async () => {
    await domains!.close();
    domains = undefined;
    for (const route of ROUTES) {
      const [method, path, , service] = route;
      const t0 = Date.now();
      const res = await call(gateway!.url, route);
      const ms = Date.now() - t0;
      assert.ok(res.status === 503 || res.status === 504, `${method} ${path}: ${res.status} ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `${method} ${path}`);
      assert.match(res.body.detail, new RegExp(`^${service} service did not answer within 1000 ms`), `${method} ${path}`);
      assert.ok(ms < 3_000, `${method} ${path}: ${ms} ms`);
    }
  });
});
