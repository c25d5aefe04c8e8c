import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { KILN_CONFIG, type KilnConfig } from '../../platform/config/kiln-config';
import { AuditCheckpoints } from './checkpoints.service';

/**
 * Signs the chain heads every KILN_AUDIT_CHECKPOINT_INTERVAL_MS (default 1 h) in processes that
 * run the audit worker, when a head moved since its newest checkpoint. Several replicas may each
 * sign: a redundant checkpoint is harmless. On demand: `POST /api/audit/checkpoints`.
 */
@Injectable()
export class CheckpointScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('CheckpointScheduler');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    private readonly checkpoints: AuditCheckpoints,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.audit.checkpointIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.checkpoints.create(true).catch((e: Error) => this.logger.error({ err: e.message }, 'audit checkpoint failed'));
    await this.running;
    this.running = null;
  }
}
