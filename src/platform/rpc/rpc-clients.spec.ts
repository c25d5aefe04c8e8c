/**
 * RpcClients and the health patterns over a real TCP transport (an in-process Nest microservice on a
 * free port): a served service answers up with the replica that answered, one that is not there or
 * never answers is down with the 503 message naming it, within the bound.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import type { KilnConfig } from '../config/kiln-config';
import { freeLoopbackPort } from '../util/free-port';
import { RpcClients } from './rpc-clients';
import { rpcHealthController } from './rpc-health.controller';

@Module({ controllers: [rpcHealthController(['ingestion'])] })
class ServedModule {}

/** Only the RPC part of the configuration is read by RpcClients. */
const callsIngestionAt = (port: number, timeoutMs = 3000) =>
  ({ rpc: { transport: 'tcp', serve: false, targets: { ingestion: { host: '127.0.0.1', port } }, timeoutMs } }) as KilnConfig;

describe('RpcClients over TCP', () => {
  let server: INestMicroservice;
  let port: number;
  before(async () => {
    port = await freeLoopbackPort();
    server = await NestFactory.createMicroservice<MicroserviceOptions>(ServedModule, {
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: false,
    });
    await server.listen();
  });
  after(async () => {
    await server?.close();
  });

  it('calls nothing without a transport target', () => {
    const clients = new RpcClients({ rpc: { serve: false, timeoutMs: 3000 } } as KilnConfig);
    assert.deepEqual(clients.services(), []);
    assert.equal(clients.get('ingestion'), undefined);
  });

  it('reports a serving ingestion app up, with the process that answered', async () => {
    const clients = new RpcClients(callsIngestionAt(port));
    try {
      assert.deepEqual(clients.services(), ['ingestion']);
      const health = await clients.health(1000);
      assert.equal(health.ingestion?.status, 'up', JSON.stringify(health));
      assert.equal(health.ingestion?.transport, 'tcp');
      assert.match(health.ingestion?.answeredBy ?? '', new RegExp(`:${process.pid}$`));
      assert.equal(typeof health.ingestion?.ms, 'number');
    } finally {
      await clients.onModuleDestroy();
    }
  });

  it('reports nothing listening as down at once, naming the service', async () => {
    const clients = new RpcClients(callsIngestionAt(await freeLoopbackPort()));
    try {
      const t0 = Date.now();
      const health = await clients.health(1000);
      assert.equal(health.ingestion?.status, 'down');
      assert.match(health.ingestion?.message ?? '', /^ingestion service did not answer within 1000 ms \(.*ECONNREFUSED/);
      assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
    } finally {
      await clients.onModuleDestroy();
    }
  });

  it('reports a service that never answers as down after the bound, not after KILN_RPC_TIMEOUT_MS', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const clients = new RpcClients(callsIngestionAt((silent.address() as { port: number }).port, 10_000));
    try {
      const t0 = Date.now();
      const health = await clients.health(400);
      const ms = Date.now() - t0;
      assert.equal(health.ingestion?.status, 'down');
      assert.equal(health.ingestion?.message, 'ingestion service did not answer within 400 ms');
      assert.ok(ms >= 390 && ms < 1500, `${ms} ms`);
    } finally {
      await clients.onModuleDestroy();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
