import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job, UnrecoverableError } from 'bullmq';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobName, PlatformPingPayload, PlatformPingResult, QueueName } from '../../contracts';

const MAX_PING_DELAY_MS = 60_000;

/** Worker for the `platform` queue: the diagnostic ping that proves a queue round trip. */
@Processor(QueueName.Platform)
export class PlatformProcessor extends WorkerHost {
  async process(job: Job): Promise<PlatformPingResult> {
    const name = job.name as JobName;
    switch (name) {
      case JobName.PlatformPing:
        return this.ping(job.data as PlatformPingPayload);
      default:
        throw new UnrecoverableError(`no handler for job ${JSON.stringify(job.name)} on queue ${QueueName.Platform}`);
    }
  }

  private async ping(payload: PlatformPingPayload): Promise<PlatformPingResult> {
    if (payload.payloadVersion !== 1) throw new UnrecoverableError(`unsupported payloadVersion ${payload.payloadVersion}`);
    if (payload.delayMs) await sleep(Math.min(Math.max(0, payload.delayMs), MAX_PING_DELAY_MS));
    return { message: payload.message, answeredBy: `${hostname()}:${process.pid}`, answeredAt: new Date().toISOString() };
  }
}
