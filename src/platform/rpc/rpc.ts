import { GatewayTimeoutException, HttpException, InternalServerErrorException, ServiceUnavailableException } from '@nestjs/common';
import {
  ClientNats,
  ClientProxy,
  ClientProxyFactory,
  ClientRedis,
  type ClientOptions,
  type CustomClientOptions,
  type CustomStrategy,
  type MsPattern,
  type NatsOptions,
  type RedisOptions,
  RpcException,
  ServerNats,
  ServerRedis,
  Transport,
} from '@nestjs/microservices';
import { hostname } from 'node:os';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import type { RpcHttpError, RpcService, RpcUseCase } from '../../contracts/rpc';
import type { KilnConfig, RpcConfig } from '../config/kiln-config';
import { toProblem } from '../http/http-error.filter';
import { ValidationProblemException } from '../http/validation-problem';

/** ioredis connection options from a redis:// URL (Nest's Redis transport takes host/port, not a URL). */
function redisOptions(url: string): { host: string; port: number; db?: number; username?: string; password?: string; tls?: object } {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(db ? { db: Number(db) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * A broker is shared: two Kiln deployments on one NATS or Redis would answer each other's calls (same
 * subjects, same queue group). Every subject / channel is therefore prefixed with the deployment's
 * KILN_QUEUE_PREFIX (`kiln:ingestion.datasets.list.v1`), on both sides; Nest normalizes a pattern again
 * when it looks a handler up, so the prefix is added only once.
 */
const withPrefix = (route: string, prefix: string): string => (route.startsWith(prefix) ? route : `${prefix}${route}`);

function prefixedServerNats(prefix: string, options: NonNullable<NatsOptions['options']>): ServerNats {
  return new (class extends ServerNats {
    protected override normalizePattern(pattern: MsPattern): string {
      return withPrefix(super.normalizePattern(pattern), prefix);
    }
  })(options);
}

/** How long a request id stays claimed: far longer than a publish takes to reach every subscriber. */
export const REDIS_CLAIM_TTL_MS = 5 * 60_000;

/**
 * Redis pub/sub has no queue group: every replica subscribed to a channel receives each request, so
 * with Nest's ServerRedis a write would run once per replica (two ingestion apps → two dataset versions
 * for one upload). Here each replica first claims the request's id with `SET <prefix>rpc-claim:<id> NX
 * PX <ttl>` on its publisher connection; only the one that set it handles the request and replies, the
 * others drop it. Events (no id) are still delivered to every replica. Nest offers no hook for this, so
 * it is the one override of `handleMessage` (the message is parsed again by the base class: a few
 * hundred bytes).
 */
export class ClaimOnceServerRedis extends ServerRedis {
  constructor(
    private readonly prefix: string,
    options: NonNullable<RedisOptions['options']>,
    private readonly claimTtlMs = REDIS_CLAIM_TTL_MS,
  ) {
    super(options);
  }

  protected override normalizePattern(pattern: MsPattern): string {
    return withPrefix(super.normalizePattern(pattern), this.prefix);
  }

  override async handleMessage(
    channel: string,
    buffer: string,
    pub: Parameters<ServerRedis['handleMessage']>[2],
    pattern: string,
  ): Promise<unknown> {
    const id = (this.parseMessage(buffer) as { id?: unknown }).id;
    if (typeof id === 'string') {
      const claimed = await pub.set(`${this.prefix}rpc-claim:${id}`, `${hostname()}:${process.pid}`, 'PX', this.claimTtlMs, 'NX');
      if (claimed !== 'OK') return undefined; // another replica handles (and answers) this request
    }
    return super.handleMessage(channel, buffer, pub, pattern);
  }
}

function prefixedClientNats(prefix: string): typeof ClientNats {
  return class extends ClientNats {
    protected override normalizePattern(pattern: MsPattern): string {
      return withPrefix(super.normalizePattern(pattern), prefix);
    }
  };
}

function prefixedClientRedis(prefix: string): typeof ClientRedis {
  return class extends ClientRedis {
    protected override normalizePattern(pattern: MsPattern): string {
      return withPrefix(super.normalizePattern(pattern), prefix);
    }
  };
}

/** The namespace of this deployment's subjects on a shared broker. */
export function brokerPrefix(queuePrefix: string): string {
  return `${queuePrefix}:`;
}

/** The transport for `connectMicroservice`: TCP on HOST:KILN_RPC_PORT, or the NATS/Redis broker (prefixed subjects). */
export function rpcServerOptions(config: KilnConfig): ClientOptions | CustomStrategy {
  const rpc = config.rpc;
  const prefix = brokerPrefix(config.queues.prefix);
  switch (rpc.transport) {
    case 'tcp':
      return { transport: Transport.TCP, options: { host: config.http.host, port: rpc.port! } };
    case 'nats': {
      // A queue group: with several replicas of the app, one of them answers each request.
      const options: NonNullable<NatsOptions['options']> = { servers: [rpc.natsUrl!], queue: `${prefix}rpc` };
      return { strategy: prefixedServerNats(prefix, options) };
    }
    case 'redis': {
      // Every replica receives each request on Redis: only the one that claims its id answers (see ClaimOnceServerRedis).
      return { strategy: new ClaimOnceServerRedis(prefix, redisOptions(rpc.redisUrl!) as NonNullable<RedisOptions['options']>) };
    }
    default:
      throw new Error('RPC is off (KILN_TRANSPORT unset)');
  }
}

/** The client side of the same transport towards a domain service (its TCP listener, or the broker). */
export function rpcClientOptions(rpc: RpcConfig, service: string): ClientOptions | CustomClientOptions {
  switch (rpc.transport) {
    case 'tcp': {
      const target = rpc.targets?.[service as RpcService];
      if (!target || target === 'broker') throw new Error(`no TCP address for the ${service} service`);
      return { transport: Transport.TCP, options: { host: target.host, port: target.port } };
    }
    case 'nats':
      return {
        customClass: prefixedClientNats(brokerPrefix(rpc.queuePrefix ?? 'kiln')) as unknown as CustomClientOptions['customClass'],
        options: { servers: [rpc.natsUrl!] },
      };
    case 'redis':
      return {
        customClass: prefixedClientRedis(brokerPrefix(rpc.queuePrefix ?? 'kiln')) as unknown as CustomClientOptions['customClass'],
        options: redisOptions(rpc.redisUrl!),
      };
    default:
      throw new Error('RPC is off (KILN_TRANSPORT unset)');
  }
}

/**
 * Server side of a message handler: an HttpException keeps its status and body across the hop (the
 * caller rebuilds it, so its problem+json is the one the service would have sent); anything else is
 * left to Nest, which answers "Internal server error" and logs it.
 */
export async function answerRpc<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof HttpException) {
      // A validation problem keeps its field errors out of Nest's response; carry them as the problem's extension member.
      const response = e instanceof ValidationProblemException ? { message: e.message, errors: e.errors } : e.getResponse();
      const error: RpcHttpError = { kind: 'http-error', status: e.getStatus(), response: response as RpcHttpError['response'] };
      throw new RpcException(error);
    }
    // The errors the HTTP filter maps to a 4xx without being HttpExceptions (a missing artifact…) keep that status too.
    const problem = toProblem(e, { url: '', id: '' });
    if (problem.status >= 400 && problem.status < 500) {
      const error: RpcHttpError = { kind: 'http-error', status: problem.status, response: { message: problem.detail } };
      throw new RpcException(error);
    }
    throw e;
  }
}

function isAnsweredError(e: unknown): e is { status: 'error'; message: string } {
  return typeof e === 'object' && e !== null && !(e instanceof Error) && (e as { status?: unknown }).status === 'error';
}

function isHttpError(e: unknown): e is RpcHttpError {
  return typeof e === 'object' && e !== null && (e as RpcHttpError).kind === 'http-error' && typeof (e as RpcHttpError).status === 'number';
}

/**
 * Client side: one ClientProxy to a named domain service. Every call is bounded by `timeoutMs` (a 503
 * naming the service, never a hang); a read that failed without an answer (connection refused, no
 * responders) is sent once more within the same budget; nothing else retries.
 */
export class RpcCaller {
  private readonly client: ClientProxy;

  constructor(
    readonly service: string,
    private readonly rpc: RpcConfig,
  ) {
    this.client = ClientProxyFactory.create(rpcClientOptions(rpc, service));
  }

  /** A use case of the service's port: a read may be sent twice (see `read`), a write once (see `write`). */
  call<T>(useCase: RpcUseCase, payload: object): Promise<T> {
    return useCase.kind === 'read' ? this.read<T>(useCase.pattern, payload) : this.write<T>(useCase.pattern, payload);
  }

  /**
   * Sent once: a write that got no answer may or may not have taken effect, so it is never repeated
   * blindly. Connection refused or no responder (it never arrived) is a 503; no answer within the
   * timeout is a 504 (the outcome is unknown: the client decides, e.g. by reading the state).
   */
  async write<T>(pattern: string, payload: object): Promise<T> {
    try {
      return await this.send<T>(pattern, payload, this.rpc.timeoutMs);
    } catch (e) {
      if (e instanceof TimeoutError) {
        return Promise.reject(
          new GatewayTimeoutException(
            `${this.service} service did not answer within ${this.rpc.timeoutMs} ms; the change may or may not have been made`,
          ),
        );
      }
      throw this.unavailable(e);
    }
  }

  async read<T>(pattern: string, payload: object): Promise<T> {
    const deadline = Date.now() + this.rpc.timeoutMs;
    try {
      return await this.send<T>(pattern, payload, this.rpc.timeoutMs);
    } catch (e) {
      const left = deadline - Date.now();
      if (e instanceof HttpException || e instanceof TimeoutError || left <= 0) throw this.unavailable(e);
      try {
        return await this.send<T>(pattern, payload, left);
      } catch (again) {
        throw this.unavailable(again);
      }
    }
  }

  /**
   * One call within `ms`, never retried (readiness asks every few seconds anyway): the answer, or the
   * same 503 naming the service that a read gets.
   */
  async probe<T>(pattern: string, payload: object, ms: number): Promise<T> {
    try {
      return await this.send<T>(pattern, payload, ms);
    } catch (e) {
      throw this.unavailable(e, ms);
    }
  }

  close(): Promise<void> {
    return Promise.resolve(this.client.close());
  }

  private async send<T>(pattern: string, payload: object, ms: number): Promise<T> {
    try {
      return await firstValueFrom(this.client.send<T>(pattern, payload).pipe(timeout(ms)));
    } catch (e) {
      if (isHttpError(e)) throw new HttpException(e.response, e.status);
      // The service answered with an error it did not map (Nest's {status: 'error', message}): its 500, not a retry.
      if (isAnsweredError(e)) throw new InternalServerErrorException(`${this.service} service failed: ${e.message}`);
      throw e;
    }
  }

  /** HTTP errors from the service pass through; a timeout or transport failure is a 503 naming the service. */
  private unavailable(e: unknown, ms = this.rpc.timeoutMs): HttpException {
    if (e instanceof HttpException) return e;
    const why = e instanceof TimeoutError || !(e instanceof Error) ? '' : ` (${e.message})`;
    return new ServiceUnavailableException(`${this.service} service did not answer within ${ms} ms${why}`);
  }
}
