/**
 * `kiln train --follow` / `kiln jobs follow`: reads a training job's server-sent events and draws one
 * progress bar over its epochs (cli-progress) with the loss, the validation metric and an ETA. Where
 * stderr is not a terminal (CI logs, pipes) it prints one line per epoch instead. A dropped stream is
 * resumed with Last-Event-ID, so no epoch is shown twice.
 */
import { SingleBar } from 'cli-progress';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { KilnClient } from './kiln-client';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

interface Progress {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss: number;
  valMetric: number;
  valMetricName: string;
}

const num = (x: number): string => (Number.isFinite(x) ? x.toPrecision(4) : String(x));

/** Follows the job until it ends; resolves with the final job (as GET /api/training-jobs/:id shows it). */
export async function followJob(client: KilnClient, id: string, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {
  const tty = process.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  let lastEpoch = 0;
  let final: any;
  let queuedSaid = '';
  for (let attempt = 0; final === undefined; attempt++) {
    try {
      const response = await client.stream(`/api/training-jobs/${id}/events`, lastEpoch > 0 ? { 'last-event-id': String(lastEpoch) } : {});
      const parser = createParser({
        onEvent: (e: EventSourceMessage) => {
          const data = JSON.parse(e.data) as any;
          if (e.event === 'queued') {
            const said = `queued: position ${data.position} (${data.running} running)`;
            if (said !== queuedSaid) log(said);
            queuedSaid = said;
          } else if (e.event === 'progress') {
            const p = data as Progress;
            lastEpoch = p.epoch;
            const payload = { loss: num(p.loss), valLoss: num(p.valLoss), metric: `${p.valMetricName} ${num(p.valMetric)}` };
            if (tty) {
              if (!bar) {
                bar = new SingleBar({
                  format: 'epoch {value}/{total} [{bar}] loss {loss}  val loss {valLoss}  {metric}  ETA {eta_formatted}',
                  hideCursor: true,
                  etaBuffer: 20,
                  stream: process.stderr,
                });
                bar.start(p.epochs, 0, payload);
              }
              bar.update(p.epoch, payload);
            } else {
              log(`epoch ${p.epoch}/${p.epochs} loss ${payload.loss} val loss ${payload.valLoss} ${payload.metric}`);
            }
          } else if (FINAL.has(e.event ?? '')) {
            final = data;
          } else if (e.event === 'error') {
            log(`event stream: ${data.title ?? 'error'}: ${data.detail ?? ''}`);
          }
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        if (final !== undefined) break;
      }
    } catch (e) {
      if (attempt >= 5 || (e as { status?: number }).status !== undefined) throw e;
    }
    if (final === undefined) {
      // the stream ended without a final event (server restarting, proxy timeout): ask, then resume
      const job = await client.get(`/api/training-jobs/${id}`);
      if (FINAL.has(job.status)) final = job;
      else await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  if (bar) {
    if (final.status === 'succeeded') bar.update(lastEpoch);
    bar.stop();
  }
  return final;
}
