/**
 * A domain app checks each use case's arguments again when they arrive over the transport: anyone on
 * the network may send to it, not only a gateway that validated the HTTP request. For EACH transport
 * (tcp, redis, nats), a raw ClientProxy sends malformed payloads straight to a process serving every
 * domain: each answer is the HTTP error the gateway rebuilds as a 400 (`{kind: 'http-error', status:
 * 400}`, naming the argument), never Nest's "Internal server error", and the process keeps answering.
 * The gateway's own caller (`RpcCaller`) turns the same answer into a 400 HttpException.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpException } from '@nestjs/common';
import { ClientProxyFactory, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { startKiln } from '../../src/bootstrap';
import { RpcPatterns } from '../../src/contracts/rpc';
import { loadConfig } from '../../src/platform/config/kiln-config';
import { createRootLogger } from '../../src/platform/logging/logging';
import { RpcCaller, rpcClientOptions } from '../../src/platform/rpc/rpc';
import { freeLoopbackPort } from '../../src/platform/util/free-port';
import { skipUnless, testEnvironment } from '../utils/test-kiln';
import { natsUnavailable, NATS_URL } from '../utils/nats';

const UUID = '00000000-0000-4000-8000-000000000000';
const ACTOR = { requestId: 'rpc-validation', actorKeyId: null };

/** [service, pattern, payload, the field the 400 names] */
const MALFORMED: Array<[keyof typeof RpcPatterns, string, unknown, string]> = [
  ['ingestion', 'ingestion.datasets.get.v1', { args: [42] }, 'id'],
  ['ingestion', 'ingestion.datasets.get.v1', 'not an object', 'args'],
  ['ingestion', 'ingestion.datasets.list.v1', { args: [1, 2] }, 'args'],
  ['ingestion', 'ingestion.datasets.create.v1', { args: [null, null, ACTOR] }, 'name'],
  ['ingestion', 'ingestion.datasets.create.v1', { args: ['fine-name', null, 'me'] }, 'actor'],
  ['ingestion', 'ingestion.versions.rows.v1', { args: [UUID, UUID, -1, 10] }, 'offset'],
  ['ingestion', 'ingestion.versions.accept.v1', { args: [{ datasetId: UUID, rawSha256: 'zz', options: {} }, ACTOR] }, 'version.rawSha256'],
  [
    'training',
    'training.jobs.create.v1',
    { args: [{ datasetVersionId: 'nope', target: 'y', modelName: 'm' }, null, ACTOR] },
    'body.datasetVersionId',
  ],
  ['training', 'training.jobs.list.v1', { args: [{ limit: 'lots' }] }, 'query.limit'],
  ['training', 'training.jobs.get.v1', { args: [{ id: 1 }] }, 'id'],
  ['models', 'models.aliases.set.v1', { args: ['m', 'production', 'one', null, ACTOR] }, 'version'],
  ['models', 'models.serving.set.v1', { args: ['m', { maxBatchSize: -3 }, null, ACTOR] }, 'input.maxBatchSize'],
  ['audit', 'audit.chains.verify.v1', { args: ['everything'] }, 'chain'],
  ['audit', 'audit.predictions.list.v1', { args: [{ limit: 'x' }] }, 'query.limit'],
  ['audit', 'audit.drift.settings.set.v1', { args: ['m', { retrainFromDatasetId: 'x' }, null, ACTOR] }, 'onDrift.retrainFromDatasetId'],
  ['audit', 'audit.drift.reports.v1', { args: ['m', 10_000] }, 'limit'],
  ['inference', 'inference.repository.load.v1', { args: [{}] }, 'name'],
  ['inference', 'inference.statistics.v1', { args: ['m', 'two'] }, 'version'],
];

for (const transport of ['tcp', 'redis', 'nats'] as const) {
  describe(`rpc payloads are validated by the domain app (KILN_TRANSPORT=${transport})`, async () => {
    const skip = (await skipUnless('redis')) || (transport === 'nats' && (await natsUnavailable()));
    let environment: Awaited<ReturnType<typeof testEnvironment>> | undefined;
    let domains: Awaited<ReturnType<typeof startKiln>> | undefined;
    const clients = new Map<string, ClientProxy>();
    let callers: Map<string, RpcCaller> | undefined;

    before(async () => {
      if (skip) return;
      environment = await testEnvironment('redis', { KILN_TRANSPORT: transport, NATS_URL });
      const rpcPort = await freeLoopbackPort();
      const domainConfig = loadConfig({
        ...environment.env,
        KILN_ROLES: 'ingestion,training,inference,audit',
        KILN_RPC_PORT: String(rpcPort),
      });
      domains = await startKiln(domainConfig, createRootLogger(domainConfig));
      const target = `127.0.0.1:${rpcPort}`;
      const gateway = loadConfig({
        ...environment.env,
        KILN_ROLES: 'gateway',
        ...(transport === 'tcp'
          ? { KILN_RPC_INGESTION: target, KILN_RPC_TRAINING: target, KILN_RPC_AUDIT: target, KILN_RPC_INFERENCE: target }
          : {}),
      });
      callers = new Map();
      for (const service of ['ingestion', 'training', 'models', 'audit', 'inference']) {
        clients.set(service, ClientProxyFactory.create(rpcClientOptions(gateway.rpc, service)));
        callers.set(service, new RpcCaller(service, gateway.rpc));
      }
    });

    after(async () => {
      for (const c of clients.values()) await c.close();
      for (const c of callers?.values() ?? []) await c.close();
      await domains?.close();
      await environment?.cleanup();
    });

    it('answers each malformed payload with a 400 naming the argument, and keeps answering', { skip }, async () => {
      for (const [service, pattern, payload, field] of MALFORMED) {
        const label = `${pattern} ${JSON.stringify(payload)}`;
        const error = await firstValueFrom(clients.get(service)!.send(pattern, payload).pipe(timeout(5_000))).then(
          (answer: unknown) => assert.fail(`${label}: answered ${JSON.stringify(answer)}`),
          (e: unknown) => e as { kind?: string; status?: number; response?: { errors?: Array<{ field: string }> } },
        );
        assert.equal(error.kind, 'http-error', `${label}: ${JSON.stringify(error)}`);
        assert.equal(error.status, 400, label);
        assert.ok(
          error.response?.errors?.some((e) => e.field === field),
          `${label}: expected a field error on ${field}, got ${JSON.stringify(error.response)}`,
        );
      }
      // What the gateway does with such an answer: the same 400, never a 5xx.
      const rejected = await callers!
        .get('models')!
        .call(RpcPatterns.models.setAlias, { args: ['m', 'production', 'one', null, ACTOR] })
        .catch((e: unknown) => e);
      assert.ok(rejected instanceof HttpException, String(rejected));
      assert.equal(rejected.getStatus(), 400);
      // The process is still up and answers well-formed calls.
      const datasets = await callers!.get('ingestion')!.call(RpcPatterns.ingestion.listDatasets, { args: [] });
      assert.deepEqual(datasets, []);
      const live = await fetch(`${domains!.url}/health/live`);
      assert.equal(live.status, 200);
    });
  });
}
