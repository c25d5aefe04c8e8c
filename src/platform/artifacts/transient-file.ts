/**
 * Transient files: what a domain service writes for the gateway to stream (a dataset download, the
 * prediction-log export). The data never crosses the transport, and it never waits to be complete:
 *
 * - the owning app (`startTransientFile`) answers the call at once with a fresh id and writes the
 *   content in the background as numbered parts (`ArtifactStore.putTransientPart`): a part is written
 *   when it reaches `partBytes`, or when the source pauses for `idleFlushMs` with bytes pending (so a
 *   slow query's first rows leave early), then an end marker (or an error marker if the source failed);
 * - the gateway (`followTransientFile`) streams part after part as they appear, polling for the next
 *   one with a short backoff, and deletes the file once the stream is over (sent, failed or abandoned
 *   by the client); a writer that stops adding parts for `stallMs` (its process died) fails the stream,
 *   and a writer whose file was deleted under it (the client went away) stops at its next part.
 *
 * Memory stays at one part on the writing side (the source is pulled only after the previous part is
 * stored) and at the stream's buffers on the gateway's. Files never fetched, or left behind by a client
 * that went away while the writer still wrote, are deleted by `TransientFileSweeper` after a TTL.
 *
 * A file nobody will read: the call that started it got no answer at the gateway, so no follower ever
 * comes — the answer was lost or came after the call's timeout (the gateway answered 503/504), or the
 * read was sent a second time (RpcCaller.read resends once when the first attempt got no answer; if
 * that attempt did reach the owning app, it started a file too). The writer learns of a reader only when
 * the reader deletes the file, so it writes such a file to its end, and the file stays until the first
 * sweep after TRANSIENT_TTL_MS with no write: at most the writing time + TRANSIENT_TTL_MS +
 * SWEEP_INTERVAL_MS (70 min after its last part), and at most the whole content (one export or download)
 * per unanswered call. Deleting it sooner needs the follower to leave a mark the writer can check (a
 * claim in the store, both backends), which is not there: unanswered calls are rare (the transport's
 * timeout), and the bound holds across restarts because the sweep runs in every process at start.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ArtifactStore, TransientFileGoneError } from './artifact-store';

export interface TransientWriteOptions {
  /** A part is written once this many bytes are pending (default 4 MiB). */
  partBytes?: number;
  /** …or once the source paused this long with bytes pending (default 200 ms). */
  idleFlushMs?: number;
  /** Called when the writing is over (tests): null once the end marker is written, else why it stopped. */
  onEnd?: (error: Error | null) => void;
}

export interface TransientFollowOptions {
  /** Fail the stream when no new part appeared for this long (default 60 s). */
  stallMs?: number;
}

const DEFAULT_PART_BYTES = 4 * 1024 * 1024;
const DEFAULT_IDLE_FLUSH_MS = 200;
const DEFAULT_STALL_MS = 60_000;
/** The follower's poll for the next part backs off from the first to the last delay, and starts over on progress. */
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 500;
/** A transient file with no write for this long is swept (far longer than any part takes to write). */
export const TRANSIENT_TTL_MS = 60 * 60_000;
const SWEEP_INTERVAL_MS = 10 * 60_000;

const logger = new Logger('TransientFiles');

/**
 * Starts writing `source` as a new transient file and returns its id at once (the caller answers with
 * it); the writing goes on in the background and never rejects: a failure is logged and recorded as the
 * file's error marker, so the gateway's stream fails rather than looking complete.
 */
export function startTransientFile(
  store: ArtifactStore,
  source: AsyncIterable<Uint8Array | string>,
  options: TransientWriteOptions = {},
): string {
  const id = randomUUID();
  const progress = { parts: 0 };
  writeParts(store, id, source, options, progress).then(
    () => options.onEnd?.(null),
    async (err: Error) => {
      if (err instanceof TransientFileGoneError) {
        // the reader went away (client gone) and deleted the file: nothing to finish or record
        logger.log({ transientFile: id }, `transient file ${id}: its reader went away; writing stopped`);
      } else {
        logger.error({ err, transientFile: id }, `transient file ${id}: writing failed`);
        await store.endTransient(id, { parts: progress.parts, error: err.message }).catch((e: Error) => {
          if (!(e instanceof TransientFileGoneError))
            logger.error({ err: e, transientFile: id }, `transient file ${id}: could not record the failure`);
        });
      }
      options.onEnd?.(err);
    },
  );
  return id;
}

async function writeParts(
  store: ArtifactStore,
  id: string,
  source: AsyncIterable<Uint8Array | string>,
  { partBytes = DEFAULT_PART_BYTES, idleFlushMs = DEFAULT_IDLE_FLUSH_MS }: TransientWriteOptions,
  progress: { parts: number },
): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = 0;
  const flush = async (): Promise<void> => {
    const bytes = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await store.putTransientPart(id, progress.parts, bytes);
    progress.parts += 1;
    size += bytes.length;
  };
  const chunks = source[Symbol.asyncIterator]();
  const IDLE = Symbol('idle');
  let next = chunks.next();
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array | string> | typeof IDLE;
      if (pendingBytes > 0) {
        // A source that pauses with bytes pending gets them written meanwhile (`next` stays pending and is awaited again).
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<typeof IDLE>((resolve) => (timer = setTimeout(() => resolve(IDLE), idleFlushMs)));
        try {
          step = await Promise.race([next, idle]);
        } finally {
          clearTimeout(timer);
        }
      } else {
        step = await next;
      }
      if (step === IDLE) {
        await flush();
        continue;
      }
      if (step.done) break;
      const chunk =
        typeof step.value === 'string'
          ? Buffer.from(step.value)
          : Buffer.from(step.value.buffer, step.value.byteOffset, step.value.byteLength);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= partBytes) await flush();
      next = chunks.next();
    }
  } catch (err) {
    // Close the source (a query's cursor, a file) rather than leave it open; not awaited: a read of it
    // may still be pending, and the source closes once that read is over.
    next.catch(() => undefined);
    chunks.return?.(undefined).catch(() => undefined);
    throw err;
  }
  if (pendingBytes > 0) await flush();
  await store.endTransient(id, { parts: progress.parts, size });
}

/**
 * The bytes of transient file `id` as they are written. Resolves once the first part (or the end) is
 * there, so a writer that failed before writing anything rejects here (an error answer, not a 200 cut
 * short); later failures and stalls fail the stream. The file is deleted when the stream ends or is
 * destroyed (the client went away).
 */
export async function followTransientFile(store: ArtifactStore, id: string, options: TransientFollowOptions = {}): Promise<Readable> {
  const follow = { stopped: false };
  const parts = followParts(store, id, options.stallMs ?? DEFAULT_STALL_MS, follow);
  let first: IteratorResult<Buffer>;
  try {
    first = await parts.next();
  } catch (err) {
    await parts.return(undefined);
    throw err;
  }
  return new TransientFileStream(parts, first, follow);
}

/**
 * A Readable over the part generator that, when destroyed, first tells the generator to stop (its
 * poll for the next part may be waiting on a writer that is slow or gone; `Readable.from` would only
 * return the generator after that wait) and then returns it, which deletes the file.
 */
class TransientFileStream extends Readable {
  private reading = false;

  constructor(
    private readonly parts: AsyncGenerator<Buffer>,
    private first: IteratorResult<Buffer> | null,
    private readonly follow: { stopped: boolean },
  ) {
    super();
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    const step = this.first ? Promise.resolve(this.first) : this.parts.next();
    this.first = null;
    step.then(
      ({ done, value }) => {
        this.reading = false;
        if (done) this.push(null);
        else if (this.push(value)) this._read();
      },
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.follow.stopped = true;
    this.parts.return(undefined).then(
      () => callback(error),
      (e: Error) => callback(error ?? e),
    );
  }
}

async function* followParts(store: ArtifactStore, id: string, stallMs: number, follow: { stopped: boolean }): AsyncGenerator<Buffer> {
  try {
    let index = 0;
    let progressAt = Date.now();
    let pollMs = POLL_MIN_MS;
    while (!follow.stopped) {
      const part = await store.getTransientPart(id, index);
      if (part) {
        for await (const chunk of part) yield chunk as Buffer;
        index += 1;
        progressAt = Date.now();
        pollMs = POLL_MIN_MS;
        continue;
      }
      const end = await store.transientEnd(id);
      if (end) {
        if ('error' in end) throw new Error(`transient file ${id}: its writer failed: ${end.error}`);
        if (index >= end.parts) return;
        continue; // the last parts landed between the two looks
      }
      if (Date.now() - progressAt > stallMs) throw new Error(`transient file ${id}: no new part for ${stallMs} ms (its writer stopped)`);
      await delay(pollMs);
      pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
    }
  } finally {
    await store
      .deleteTransient(id)
      .catch((err: Error) => logger.warn({ err, transientFile: id }, `transient file ${id}: delete failed; the sweep removes it later`));
  }
}

/**
 * Deletes transient files with no write for TRANSIENT_TTL_MS (never fetched, or abandoned while being
 * written) when the application starts and every SWEEP_INTERVAL_MS after, in every process: the
 * passes are idempotent, so replicas sweeping the same store at once is harmless.
 */
@Injectable()
export class TransientFileSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly store: ArtifactStore) {}

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass; never rejects (a failed pass is logged and the next one tries again). */
  async sweep(maxAgeMs = TRANSIENT_TTL_MS): Promise<string[]> {
    try {
      const swept = await this.store.sweepTransient(maxAgeMs);
      if (swept.length) logger.log({ transientFiles: swept }, `swept ${swept.length} transient file(s) older than ${maxAgeMs} ms`);
      return swept;
    } catch (err) {
      logger.warn({ err }, `transient file sweep failed; next pass in ${SWEEP_INTERVAL_MS} ms`);
      return [];
    }
  }
}
