import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job, UnrecoverableError } from 'bullmq';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobName, PlatformPingPayload, PlatformPingResult, QueueName } from '../../contracts';
import { JobHandlers } from './job-handlers';

const MAX_PING_DELAY_MS = 60_000;

/** Worker for the `platform` queue: the diagnostic ping that proves a queue round trip. */
@Processor(QueueName.Platform)
export class PlatformProcessor extends WorkerHost {
  readonly handlers = new JobHandlers(QueueName.Platform, [{ name: JobName.PlatformPing, handle: (job) => this.ping(job.data) }]);

  async process(job: Job): Promise<PlatformPingResult> {
    return this.handlers.dispatch(job);
  }

  private async ping(payload: PlatformPingPayload): Promise<PlatformPingResult> {
    if (payload.payloadVersion !== 1) throw new UnrecoverableError(`unsupported payloadVersion ${payload.payloadVersion}`);
    if (payload.delayMs) await sleep(Math.min(Math.max(0, payload.delayMs), MAX_PING_DELAY_MS));
    return { message: payload.message, answeredBy: `${hostname()}:${process.pid}`, answeredAt: new Date().toISOString() };
  }
}
