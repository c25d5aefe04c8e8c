import { Controller, type Type } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { RpcHealthPattern, type RpcHealthResult, type RpcService } from '../../contracts/rpc';
import { healthAnswer } from './rpc-clients';

/**
 * The message handler answering `RpcHealthPattern[service]` for each domain service this process
 * serves over the transport (a class per process because the patterns depend on its roles; Nest reads
 * the decorator metadata when the microservice connects). Answering is the check: the process is up
 * and reachable over the transport.
 */
export function rpcHealthController(services: readonly RpcService[]): Type<unknown> {
  @Controller()
  class RpcHealthController {
    health(): RpcHealthResult {
      return healthAnswer(services);
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(RpcHealthController.prototype, 'health')!;
  MessagePattern(services.map((s) => RpcHealthPattern[s]))(RpcHealthController.prototype, 'health', descriptor);
  return RpcHealthController;
}
