import { Controller, Inject, ServiceUnavailableException, type Abstract, type Provider, type Type } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { RpcPatterns, type RpcCallPayload, type RpcService, type RpcUseCase } from '../../contracts/rpc';
import { checkedArgs, type ArgRule, type PortArgs } from './port-args';
import { answerRpc } from './rpc';
import { RpcClients } from './rpc-clients';

/**
 * The one generic piece between a domain's port (an abstract class listing its use cases, the DI token
 * its controllers depend on) and the transport: every method of the port is one message pattern of
 * `RpcPatterns[service]` (same name), its arguments travel as `{args}` and its result comes back as JSON.
 * A domain writes its port, its local implementation and one line per side:
 *  - `portProvider(Port, service, Local)`: the port the gateway's controllers get: the local
 *    implementation in a process that has the domain's role (or no transport target for it), else a
 *    client over KILN_TRANSPORT (`rpcPortClient`);
 *  - `rpcPortController(Port, service)`: the domain app's message handlers, each calling the local
 *    implementation bound to `Port` and keeping its HTTP errors across the hop (`answerRpc`).
 */
type Methods<S extends RpcService> = keyof (typeof RpcPatterns)[S] & string;

/** The port's methods are exactly the service's use cases (checked at compile time by `PortOf`). */
export type PortOf<S extends RpcService> = { [M in Methods<S>]: (...args: never[]) => Promise<unknown> };

/** A `Port` whose every call goes over the transport through `clients.get(service)`. */
export function rpcPortClient<P extends PortOf<S>, S extends RpcService>(clients: RpcClients, service: S): P {
  const caller = clients.get(service);
  if (!caller) throw new Error(`no transport target for the ${service} service`);
  const useCases: Record<string, RpcUseCase> = RpcPatterns[service];
  const client: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [method, useCase] of Object.entries(useCases)) {
    client[method] = (...args: unknown[]) => {
      // JSON has no undefined: an absent optional argument is named so the other side passes undefined again.
      const absent = args.flatMap((a, i) => (a === undefined ? [i] : []));
      const payload: RpcCallPayload = { args, ...(absent.length > 0 ? { absent } : {}) };
      return caller.call(useCase, payload);
    };
  }
  return client as unknown as P;
}

/**
 * The provider of `port`: `local` (a class provided in the same module) when this process has no
 * transport target for `service`, else the client over the transport.
 */
export function portProvider<S extends RpcService>(port: Abstract<PortOf<S>>, service: S, local: Type<PortOf<S>>): Provider {
  return {
    provide: port,
    inject: [RpcClients, local],
    useFactory: (clients: RpcClients, localImpl: PortOf<S>) => (clients.get(service) ? rpcPortClient(clients, service) : localImpl),
  };
}

/**
 * A port a process can neither serve itself nor reach (e.g. inference management on a gateway without
 * the inference role and without a transport target for it): every call is a 503 saying so.
 */
export function unreachablePort<S extends RpcService>(service: S, why: string): PortOf<S> {
  const port: Record<string, () => Promise<never>> = {};
  for (const method of Object.keys(RpcPatterns[service])) {
    port[method] = () => Promise.reject(new ServiceUnavailableException(`${service} service is not reachable from this process: ${why}`));
  }
  return port as unknown as PortOf<S>;
}

/**
 * The message handlers answering `RpcPatterns[service]` with the implementation bound to `port` in the
 * serving process (a generated class, as `rpcHealthController`: one handler per use case, no copy per
 * pattern). The transport is a network endpoint, so each call's arguments are checked again against
 * `args` (the port's argument rules, `port-args.ts`) before the use case runs: a malformed payload is a
 * 400 naming the argument, carried back like any HTTP error (`answerRpc`).
 */
export function rpcPortController<S extends RpcService>(
  port: Abstract<PortOf<S>>,
  service: S,
  name: string,
  args: PortArgs<S>,
): Type<unknown> {
  @Controller()
  class PortRpcController {
    constructor(@Inject(port) readonly local: PortOf<S>) {}
  }
  Object.defineProperty(PortRpcController, 'name', { value: name });
  const rules = args as Record<string, Record<string, ArgRule>>;
  for (const [method, useCase] of Object.entries(RpcPatterns[service] as Record<string, { pattern: string }>)) {
    const handler = function (this: PortRpcController, payload: RpcCallPayload | undefined): Promise<unknown> {
      return answerRpc(async () => {
        const impl = (this.local as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method]!;
        return impl.apply(this.local, await checkedArgs(rules[method]!, payload));
      });
    };
    Object.defineProperty(PortRpcController.prototype, method, { value: handler, writable: true, configurable: true });
    const descriptor = Object.getOwnPropertyDescriptor(PortRpcController.prototype, method)!;
    MessagePattern(useCase.pattern)(PortRpcController.prototype, method, descriptor);
  }
  return PortRpcController;
}
