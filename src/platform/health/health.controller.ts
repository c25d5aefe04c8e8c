import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { ArtifactStore } from '../artifacts/artifact-store';
import { Public } from '../auth/api-roles';
import { QueueInspector } from '../queues/queue-inspector';

const CHECK_TIMEOUT_MS = 3_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref(),
    ),
  ]);
}

/** Liveness (the process answers) and readiness (database, queue backend and artifact store all work). */
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
    try {
      return await this.health.check([
        () => this.db.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
        () => this.probe('queues', () => this.queues.ping()),
        () => this.probe('artifacts', () => this.artifacts.check()),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const result = err.getResponse() as HealthCheckResult;
      const failing = Object.keys(result.error ?? {});
      const reasons = failing.map((name) => `${name} (${String(result.error?.[name]?.message ?? 'down')})`);
      throw new ServiceUnavailableException({ message: `not ready: ${reasons.join(', ')}`, failing, checks: result.details });
    }
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
