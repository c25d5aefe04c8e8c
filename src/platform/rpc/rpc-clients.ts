import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { hostname } from 'node:os';
import { RPC_SERVICES, RpcHealthPattern, type RpcHealthPayload, type RpcHealthResult, type RpcService } from '../../contracts/rpc';
import { KILN_CONFIG, type KilnConfig } from '../config/kiln-config';
import { RpcCaller } from './rpc';

/** What a gateway's readiness reports for one domain service it calls. */
export interface RpcServiceHealth {
  status: 'up' | 'down';
  transport: string;
  /** Round trip of the health call (up), or why it failed (down). */
  ms?: number;
  message?: string;
  /** The replica that answered. */
  answeredBy?: string;
}

/**
 * The domain services this process calls over KILN_TRANSPORT, one `RpcCaller` each (on a gateway, the
 * domains whose roles it lacks: `config.rpc.targets`). The ports of the domains take their caller from here, and
 * the gateway's `/health/ready` asks each of them whether it answers.
 */
@Injectable()
export class RpcClients implements OnModuleDestroy {
  private readonly callers = new Map<RpcService, RpcCaller>();

  constructor(@Inject(KILN_CONFIG) private readonly config: KilnConfig) {
    for (const service of RPC_SERVICES) {
      if (config.rpc.targets?.[service]) this.callers.set(service, new RpcCaller(service, config.rpc));
    }
  }

  /** The caller towards `service`, or undefined when this process does not call it (it has the role, or no transport). */
  get(service: RpcService): RpcCaller | undefined {
    return this.callers.get(service);
  }

  services(): RpcService[] {
    return [...this.callers.keys()];
  }

  /** Asks every called service its health pattern at once, each bounded by `ms` (no retry). */
  async health(ms: number): Promise<Partial<Record<RpcService, RpcServiceHealth>>> {
    const transport = this.config.rpc.transport ?? 'none';
    const entries = await Promise.all(
      [...this.callers].map(async ([service, caller]): Promise<[RpcService, RpcServiceHealth]> => {
        const t0 = performance.now();
        try {
          const payload: RpcHealthPayload = {};
          const answer = await caller.probe<RpcHealthResult>(RpcHealthPattern[service], payload, ms);
          const took = Math.round((performance.now() - t0) * 10) / 10;
          return [service, { status: 'up', transport, ms: took, answeredBy: `${answer.hostname}:${answer.pid}` }];
        } catch (e) {
          return [service, { status: 'down', transport, message: (e as Error).message }];
        }
      }),
    );
    return Object.fromEntries(entries);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.callers.values()].map((c) => c.close()));
  }
}

/** The answer to the health patterns of the domain services this process serves (see `rpcHealthController`). */
export function healthAnswer(services: readonly RpcService[]): RpcHealthResult {
  return { services: [...services], hostname: hostname(), pid: process.pid };
}
