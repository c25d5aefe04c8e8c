import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { ArtifactStore } from '../artifacts/artifact-store';
import { Public } from '../auth/api-roles';
import { QueueInspector } from '../queues/queue-inspector';
import { KILN_CONFIG, type KilnConfig } from '../config/kiln-config';
import { RpcClients } from '../rpc/rpc-clients';

const CHECK_TIMEOUT_MS = 3_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref(),
    ),
  ]);
}

/**
 * Liveness (the process answers) and readiness (database, queue backend and artifact store all work).
 * A split gateway's readiness also lists, under `services`, each domain service it calls over
 * KILN_TRANSPORT and whether it answers; a service that does not answer does not make the gateway
 * unready (its other routes still work, and only the calls to that service answer 503): taking every
 * gateway replica out of rotation because one domain service is down would turn a partial outage
 * into a total one.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly queues: QueueInspector,
    private readonly artifacts: ArtifactStore,
    private readonly rpc: RpcClients,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /**
   * 200 with every check when ready; otherwise 503 problem+json whose `detail` names the failing
   * parts and why, with `failing` (their names) and `checks` (every check's result).
   */
  @Get('ready')
  @HealthCheck()
  async ready() {
    // The domain services are asked alongside the own checks, within the same bound.
    const called = this.rpc.services().length > 0 ? this.rpc.health(Math.min(CHECK_TIMEOUT_MS, this.config.rpc.timeoutMs)) : undefined;
    let own: HealthCheckResult;
    try {
      own = await this.health.check([
        () => this.db.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
        () => this.probe('queues', () => this.queues.ping()),
        () => this.probe('artifacts', () => this.artifacts.check()),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const result = err.getResponse() as HealthCheckResult;
      const failing = Object.keys(result.error ?? {});
      const reasons = failing.map((name) => `${name} (${String(result.error?.[name]?.message ?? 'down')})`);
      const services = called ? { services: await called } : {};
      throw new ServiceUnavailableException({ message: `not ready: ${reasons.join(', ')}`, failing, checks: result.details, ...services });
    }
    return called ? { ...own, services: await called } : own;
  }

  private async probe(key: string, check: () => Promise<void>) {
    const indicator = this.indicators.check(key);
    try {
      await withTimeout(check(), key);
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}
