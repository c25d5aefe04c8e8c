import { DynamicModule, Global, Module } from '@nestjs/common';
import type { KilnConfig } from '../config/kiln-config';
import { RpcClients } from './rpc-clients';
import { rpcHealthController } from './rpc-health.controller';

/**
 * Split deployment plumbing every process gets: `RpcClients` (the services it calls over the
 * transport) and, on a process that serves domain services over it, their health patterns.
 */
@Global()
@Module({})
export class RpcModule {
  static forRoot(config: KilnConfig): DynamicModule {
    const served = config.rpc.serves ?? [];
    return {
      module: RpcModule,
      controllers: served.length > 0 ? [rpcHealthController(served)] : [],
      providers: [RpcClients],
      exports: [RpcClients],
    };
  }
}
