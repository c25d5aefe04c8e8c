/**
 * RpcCaller and answerRpc over a real TCP transport (an in-process Nest microservice on a free port):
 * HTTP errors keep their problem across the hop, unmapped errors are a 500, and a service that is not
 * there is a 503 naming it within the timeout.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { freeLoopbackPort } from '../util/free-port';
import { after, before, describe, it } from 'node:test';
import { ConflictException, Controller, HttpException, Module, NotFoundException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, type MicroserviceOptions, Transport } from '@nestjs/microservices';
import type { INestMicroservice } from '@nestjs/common';
import type { RpcPattern } from '../../contracts/rpc';
import type { RpcConfig } from '../config/kiln-config';
import { toProblem } from '../http/http-error.filter';
import { ValidationProblemException } from '../http/validation-problem';
import { answerRpc, RpcCaller } from './rpc';

const ERRORS: Record<string, () => Error> = {
  notFound: () => new NotFoundException('dataset 1 not found'),
  conflict: () => new ConflictException('dataset name "a" is taken'),
  validation: () => new ValidationProblemException([{ field: 'name', reason: 'must not be empty' }]),
  unmapped: () => new Error('database exploded'),
};

@Controller()
class TestRpcController {
  @MessagePattern('test.echo.v1')
  echo(@Payload() payload: { value: number }): Promise<{ value: number }> {
    return answerRpc(async () => ({ value: payload.value * 2 }));
  }

  @MessagePattern('test.fail.v1')
  fail(@Payload() payload: { error: string }): Promise<never> {
    return answerRpc(async () => {
      throw ERRORS[payload.error]!();
    });
  }
}

@Module({ controllers: [TestRpcController] })
class TestRpcModule {}

const tcp = (port: number, timeoutMs = 1000): RpcConfig => ({
  transport: 'tcp',
  serve: false,
  targets: { ingestion: { host: '127.0.0.1', port }, test: { host: '127.0.0.1', port } } as RpcConfig['targets'],
  timeoutMs,
});
const request = { url: '/api/x', id: 'req' };

describe('RpcCaller over TCP', () => {
  let server: INestMicroservice;
  let caller: RpcCaller;
  before(async () => {
    const port = await freeLoopbackPort();
    server = await NestFactory.createMicroservice<MicroserviceOptions>(TestRpcModule, {
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: false,
    });
    await server.listen();
    caller = new RpcCaller('test', tcp(port));
  });
  after(async () => {
    await caller?.close();
    await server?.close();
  });

  it('returns the answer', async () => {
    assert.deepEqual(await caller.read('test.echo.v1' as RpcPattern, { value: 21 }), { value: 42 });
  });

  for (const name of ['notFound', 'conflict', 'validation']) {
    it(`rebuilds ${name} as the same problem`, async () => {
      const error = await caller.read('test.fail.v1' as RpcPattern, { error: name }).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof HttpException);
      assert.deepEqual(toProblem(error, request), toProblem(ERRORS[name]!(), request));
    });
  }

  it('answers an unmapped service error as a 500 naming the service, without retrying', async () => {
    const error = await caller.read('test.fail.v1' as RpcPattern, { error: 'unmapped' }).catch((e: unknown) => e);
    assert.ok(error instanceof HttpException);
    assert.equal(error.getStatus(), 500);
    assert.match(error.message, /^test service failed/);
  });

  it('is a 503 naming the service when nothing listens, within the timeout', async () => {
    const nobody = new RpcCaller('ingestion', tcp(await freeLoopbackPort(), 800));
    try {
      const t0 = Date.now();
      const error = await nobody.read('test.echo.v1' as RpcPattern, { value: 1 }).catch((e: unknown) => e);
      assert.ok(error instanceof HttpException);
      assert.equal(error.getStatus(), 503);
      assert.match(error.message, /^ingestion service did not answer within 800 ms/);
      assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`);
    } finally {
      await nobody.close();
    }
  });

  it('is a 503 after the timeout when the service never answers', async () => {
    // A TCP listener that accepts and never replies: the call must end at the timeout, not hang.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const slow = new RpcCaller('ingestion', tcp(port, 400));
    try {
      const t0 = Date.now();
      const error = await slow.read('test.echo.v1' as RpcPattern, { value: 1 }).catch((e: unknown) => e);
      const ms = Date.now() - t0;
      assert.ok(error instanceof HttpException);
      assert.equal(error.getStatus(), 503);
      assert.equal(error.message, 'ingestion service did not answer within 400 ms');
      assert.ok(ms >= 390 && ms < 1000, `${ms} ms`);
    } finally {
      await slow.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
