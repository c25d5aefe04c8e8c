/**
 * The generic port plumbing over a real TCP transport (an in-process Nest microservice on a free port):
 * a port client generated from `RpcPatterns` reaches the handlers `rpcPortController` generated, with the
 * arguments as given (absent optional ones stay undefined) and the domain's HTTP errors intact; a read
 * that lost its connection is sent again, a write never.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HttpException, Injectable, Module, NotFoundException, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import type { KilnConfig } from '../config/kiln-config';
import { toProblem } from '../http/http-error.filter';
import { freeLoopbackPort } from '../util/free-port';
import { rpcPortClient, rpcPortController, type PortOf } from './port';
import { bool, int, optional, text } from './port-args';
import { RpcClients } from './rpc-clients';

abstract class FakeInferencePort implements PortOf<'inference'> {
  abstract repositoryIndex(readyOnly: boolean): Promise<unknown>;
  abstract statistics(name?: string, version?: number): Promise<unknown>;
  abstract load(name: string): Promise<unknown>;
  abstract unload(name: string): Promise<unknown>;
}

@Injectable()
class FakeInference extends FakeInferencePort {
  readonly unloads: string[] = [];
  repositoryIndex(readyOnly: boolean): Promise<unknown> {
    return Promise.resolve({ readyOnly, at: new Date('2026-01-02T03:04:05Z') });
  }
  statistics(name?: string, version?: number): Promise<unknown> {
    return Promise.resolve({ args: [name === undefined ? 'undefined' : name, version === undefined ? 'undefined' : version] });
  }
  load(name: string): Promise<unknown> {
    return Promise.reject(new NotFoundException(`failed to load '${name}': no model of that name`));
  }
  unload(name: string): Promise<unknown> {
    this.unloads.push(name);
    return Promise.reject(new Error('disk on fire'));
  }
}

@Module({
  controllers: [
    rpcPortController(FakeInferencePort, 'inference', 'FakeInferenceRpcController', {
      repositoryIndex: { readyOnly: bool() },
      statistics: { name: optional(text()), version: optional(int(1)) },
      load: { name: text() },
      unload: { name: text() },
    }),
  ],
  providers: [FakeInference, { provide: FakeInferencePort, useExisting: FakeInference }],
})
class FakeInferenceModule {}

const callingInferenceAt = (port: number, timeoutMs = 2000) =>
  ({ rpc: { transport: 'tcp', serve: false, targets: { inference: { host: '127.0.0.1', port } }, timeoutMs } }) as KilnConfig;

describe('generic ports over TCP', () => {
  let server: INestMicroservice;
  let clients: RpcClients;
  let port: FakeInferencePort;
  before(async () => {
    const rpcPort = await freeLoopbackPort();
    server = await NestFactory.createMicroservice<MicroserviceOptions>(FakeInferenceModule, {
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: rpcPort },
      logger: false,
    });
    await server.listen();
    clients = new RpcClients(callingInferenceAt(rpcPort));
    port = rpcPortClient<FakeInferencePort, 'inference'>(clients, 'inference');
  });
  after(async () => {
    await clients?.onModuleDestroy();
    await server?.close();
  });

  it('calls the local implementation with the arguments given and answers JSON', async () => {
    assert.deepEqual(await port.repositoryIndex(true), { readyOnly: true, at: '2026-01-02T03:04:05.000Z' });
    assert.deepEqual(await port.statistics('iris', 3), { args: ['iris', 3] });
    assert.deepEqual(await port.statistics('iris'), { args: ['iris', 'undefined'] }, 'an absent version stays undefined');
    assert.deepEqual(await port.statistics(undefined, 2), { args: ['undefined', 2] }, 'not null: undefined');
  });

  it("keeps a domain HTTP error's status and problem", async () => {
    const error = await port.load('nope').catch((e: unknown) => e);
    assert.ok(error instanceof HttpException);
    const request = { url: '/api/inference/models/nope/load', id: 'r' };
    assert.deepEqual(toProblem(error, request), toProblem(new NotFoundException("failed to load 'nope': no model of that name"), request));
  });

  it('answers an unmapped error as a 500 naming the service', async () => {
    const error = await port.unload('m').catch((e: unknown) => e);
    assert.ok(error instanceof HttpException);
    assert.equal(error.getStatus(), 500);
    assert.match(error.message, /^inference service failed/);
  });
});

describe('reads retry once, writes never', () => {
  /** A listener that accepts each connection and closes it at once: the call never gets an answer. */
  async function hangingUp(): Promise<{ port: number; connections: () => number; close: () => void }> {
    let count = 0;
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      count++;
      sockets.push(socket);
      socket.once('data', () => socket.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      port: (server.address() as { port: number }).port,
      connections: () => count,
      close: () => {
        sockets.forEach((s) => s.destroy());
        server.close();
      },
    };
  }

  for (const [method, kind, expected] of [
    ['repositoryIndex', 'read', 2],
    ['load', 'write', 1],
  ] as const) {
    it(`${kind} (${method}): ${expected} attempt(s), then 503 naming the service`, async () => {
      const target = await hangingUp();
      const clients = new RpcClients(callingInferenceAt(target.port, 1500));
      try {
        const client = rpcPortClient<FakeInferencePort, 'inference'>(clients, 'inference');
        const error = await (method === 'load' ? client.load('m') : client.repositoryIndex(false)).catch((e: unknown) => e);
        assert.ok(error instanceof HttpException, String(error));
        assert.equal(error.getStatus(), 503, error.message);
        assert.match(error.message, /^inference service did not answer within 1500 ms/);
        assert.equal(target.connections(), expected, `${kind}: ${target.connections()} connection(s)`);
      } finally {
        await clients.onModuleDestroy();
        target.close();
      }
    });
  }

  it('a write sent but never answered is a 504 after the timeout (its outcome is unknown)', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const clients = new RpcClients(callingInferenceAt((silent.address() as { port: number }).port, 400));
    try {
      const error = await rpcPortClient<FakeInferencePort, 'inference'>(clients, 'inference')
        .unload('m')
        .catch((e: unknown) => e);
      assert.ok(error instanceof HttpException);
      assert.equal(error.getStatus(), 504);
      assert.match(error.message, /^inference service did not answer within 400 ms; the change may or may not have been made/);
      assert.equal(sockets.length, 1);
    } finally {
      await clients.onModuleDestroy();
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });
});
