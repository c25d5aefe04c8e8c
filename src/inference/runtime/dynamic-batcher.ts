import { HttpException, ServiceUnavailableException } from '@nestjs/common';
import { elementCount, type HostTensor } from './served-model';

/**
 * Dynamic batching for one loaded model, with Triton's knobs:
 *
 *   maxBatchSize     rows per model call (1 = batching off: every request runs alone)
 *   maxQueueDelayMs  how long the oldest request may wait for more to arrive (0, the default: batch
 *                    whatever queued while the previous batch ran)
 *   maxQueueSize     requests waiting at most; one more → 503
 *   timeoutMs        a request still queued after this long → 503 (it is never run)
 *
 * TF.js runs a batch synchronously on the event loop, so requests that arrive during a batch are
 * parsed in the next I/O phase; the next batch is scheduled with setImmediate, which runs after that
 * phase and so takes all of them. Requests are never split: one larger than maxBatchSize runs alone.
 * Inputs are concatenated along the first (batch) dimension and outputs split back by row counts.
 * A batch refused with a 4xx is run again request by request, so one client's request never fails others'.
 */
export interface BatchingSettings {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  timeoutMs: number;
}

export const DEFAULT_BATCHING: BatchingSettings = { maxBatchSize: 32, maxQueueDelayMs: 0, maxQueueSize: 1024, timeoutMs: 5000 };

export interface BatchObserver {
  /** One model call of `rows` rows made of `requests` requests. */
  batch(rows: number, requests: number): void;
  /** Time a request spent queued before its batch ran. */
  queued(seconds: number): void;
  /** A request refused: queue full or timed out. */
  rejected(reason: 'queue_full' | 'timeout'): void;
}

interface Pending {
  inputs: HostTensor[];
  rows: number;
  /** Requests batch together only with equal keys (the inputs' shapes past the batch dimension); null = runs alone. */
  key: string | null;
  enqueuedAt: number;
  resolve(outputs: HostTensor[]): void;
  reject(error: unknown): void;
}

export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly execute: (inputs: HostTensor[]) => Promise<HostTensor[]>,
    private settings: BatchingSettings,
    private readonly observer: BatchObserver,
  ) {}

  configure(settings: BatchingSettings): void {
    this.settings = settings;
  }

  get depth(): number {
    return this.queue.length;
  }

  /**
   * Queues a request of `rows` rows (inputs' first dimension); resolves with its own rows of every
   * output. It joins a batch only with requests whose inputs have the same shapes past the first
   * dimension (variable dimensions may differ between requests); `batchable: false` (no batch
   * dimension at all) runs alone.
   */
  submit(inputs: HostTensor[], rows: number, batchable = true): Promise<HostTensor[]> {
    if (this.queue.length >= this.settings.maxQueueSize) {
      this.observer.rejected('queue_full');
      return Promise.reject(
        new ServiceUnavailableException(`the model's request queue is full (${this.settings.maxQueueSize} waiting); retry later`),
      );
    }
    return new Promise<HostTensor[]>((resolve, reject) => {
      const key = batchable ? inputs.map((t) => t.shape.slice(1).join(',')).join(';') : null;
      this.queue.push({ inputs, rows, key, enqueuedAt: performance.now(), resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    const { maxQueueDelayMs, maxBatchSize } = this.settings;
    const full = this.queuedRows >= maxBatchSize;
    if (this.scheduled) {
      // A delay timer is waiting for more rows; a full batch need not wait for it.
      if (!full || !('refresh' in this.scheduled)) return;
      clearTimeout(this.scheduled);
      this.scheduled = null;
    }
    if (maxQueueDelayMs > 0 && !full) {
      const oldest = this.queue[0]!.enqueuedAt;
      const wait = Math.max(0, oldest + maxQueueDelayMs - performance.now());
      // `void`: flush settles every queued request itself (runBatch resolves or rejects each one).
      this.scheduled = setTimeout(() => void this.flush(), wait);
    } else {
      this.scheduled = setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = null;
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const now = performance.now();
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (now - next.enqueuedAt > this.settings.timeoutMs) {
        this.queue.shift();
        this.queuedRows -= next.rows;
        this.observer.rejected('timeout');
        next.reject(
          new ServiceUnavailableException(`the request waited more than ${this.settings.timeoutMs} ms for the model; retry later`),
        );
        continue;
      }
      if (batch.length > 0 && (rows + next.rows > this.settings.maxBatchSize || next.key === null || next.key !== batch[0]!.key)) break;
      this.queue.shift();
      this.queuedRows -= next.rows;
      batch.push(next);
      rows += next.rows;
    }
    try {
      if (batch.length > 0) {
        for (const p of batch) this.observer.queued((now - p.enqueuedAt) / 1000);
        this.observer.batch(rows, batch.length);
        await this.runBatch(batch, rows);
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  private async runBatch(batch: Pending[], rows: number): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0]!;
      await this.execute(p.inputs).then(p.resolve, p.reject);
      return;
    }
    let outputs: HostTensor[];
    try {
      outputs = await this.execute(
        concatRows(
          batch.map((p) => p.inputs),
          rows,
        ),
      );
    } catch (e) {
      // A batch refused as the request's fault (4xx: e.g. too large for the model's memory cap) may be
      // one request's doing: each runs alone, so the others are answered and only the culprit refused.
      if (e instanceof HttpException && e.getStatus() < 500) {
        for (const p of batch) await this.execute(p.inputs).then(p.resolve, p.reject);
        return;
      }
      for (const p of batch) p.reject(e);
      return;
    }
    let offset = 0;
    for (const p of batch) {
      p.resolve(outputs.map((t) => sliceRows(t, offset, p.rows)));
      offset += p.rows;
    }
  }
}

/** Concatenates each input along the first dimension. */
export function concatRows(requests: HostTensor[][], rows: number): HostTensor[] {
  return requests[0]!.map((first, i) => {
    const shape = [rows, ...first.shape.slice(1)];
    if (Array.isArray(first.data))
      return { name: first.name, dtype: first.dtype, shape, data: requests.flatMap((r) => r[i]!.data as Uint8Array[]) };
    const Ctor = first.data.constructor as new (n: number) => Float32Array | Int32Array | Uint8Array;
    const data = new Ctor(elementCount(shape));
    let offset = 0;
    for (const r of requests) {
      const t = r[i]!;
      data.set(t.data as never, offset);
      offset += t.data.length;
    }
    return { name: first.name, dtype: first.dtype, shape, data };
  });
}

/** Rows [start, start + count) of a tensor whose first dimension is the batch. */
export function sliceRows(t: HostTensor, start: number, count: number): HostTensor {
  const perRow = t.shape[0] ? t.data.length / t.shape[0] : 0;
  return {
    name: t.name,
    dtype: t.dtype,
    shape: [count, ...t.shape.slice(1)],
    data: t.data.slice(start * perRow, (start + count) * perRow),
  };
}
