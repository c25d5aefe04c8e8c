import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException, ServiceUnavailableException } from '@nestjs/common';
import { DynamicBatcher, type BatchingSettings, type BatchObserver } from './dynamic-batcher';
import type { HostTensor } from './served-model';

/** A "model" that doubles its input and records the batch sizes it was called with. */
function doubler(delayMs = 0, onCall: (n: number) => void = () => undefined) {
  const calls: number[] = [];
  const execute = async (inputs: HostTensor[]): Promise<HostTensor[]> => {
    const x = inputs[0]!;
    calls.push(x.shape[0]!);
    onCall(calls.length);
    if (delayMs) {
      const until = Date.now() + delayMs;
      while (Date.now() < until); // synchronous, like a TF.js predict on the event loop
    }
    return [{ name: 'y', dtype: 'float32', shape: [x.shape[0]!, 1], data: Float32Array.from(x.data as Float32Array, (v) => v * 2) }];
  };
  return { calls, execute };
}

function rows(...values: number[]): HostTensor[] {
  return [{ name: 'x', dtype: 'float32', shape: [values.length, 1], data: Float32Array.from(values) }];
}

function observer() {
  const seen = { batches: [] as number[], rejected: [] as string[], queued: 0 };
  const o: BatchObserver = { batch: (r) => seen.batches.push(r), queued: () => seen.queued++, rejected: (r) => seen.rejected.push(r) };
  return { seen, o };
}

const settings = (s: Partial<BatchingSettings>): BatchingSettings => ({
  maxBatchSize: 32,
  maxQueueDelayMs: 0,
  maxQueueSize: 1024,
  timeoutMs: 5000,
  ...s,
});

describe('DynamicBatcher', () => {
  it('batches requests queued in the same tick into one call and gives each its own rows, in order', async () => {
    const m = doubler();
    const { seen, o } = observer();
    const b = new DynamicBatcher(m.execute, settings({}), o);
    const results = await Promise.all([b.submit(rows(1), 1), b.submit(rows(2, 3), 2), b.submit(rows(4), 1)]);
    assert.deepEqual(m.calls, [4]);
    assert.deepEqual(
      results.map((r) => Array.from(r[0]!.data as Float32Array)),
      [[2], [4, 6], [8]],
    );
    assert.deepEqual(
      results.map((r) => r[0]!.shape),
      [
        [1, 1],
        [2, 1],
        [1, 1],
      ],
    );
    assert.deepEqual(seen.batches, [4]);
    assert.equal(seen.queued, 3);
  });

  it('never exceeds maxBatchSize rows per call (a larger single request runs alone)', async () => {
    const m = doubler();
    const b = new DynamicBatcher(m.execute, settings({ maxBatchSize: 3 }), observer().o);
    await Promise.all([b.submit(rows(1, 2), 2), b.submit(rows(3, 4), 2), b.submit(rows(5, 6, 7, 8, 9), 5), b.submit(rows(10), 1)]);
    assert.deepEqual(m.calls, [2, 2, 5, 1]);
  });

  it('with maxBatchSize 1 every request is its own call', async () => {
    const m = doubler();
    const b = new DynamicBatcher(m.execute, settings({ maxBatchSize: 1 }), observer().o);
    await Promise.all([1, 2, 3, 4].map((v) => b.submit(rows(v), 1)));
    assert.deepEqual(m.calls, [1, 1, 1, 1]);
  });

  it('takes what queued while the previous batch ran', async () => {
    let later: Promise<HostTensor[][]> | null = null;
    // Three requests arrive while the first batch computes (it blocks the loop for 30 ms, as TF.js
    // does): their timer fires only after the batch returned.
    const m = doubler(30, (n) => {
      if (n === 1) later = new Promise((resolve) => setTimeout(() => resolve(Promise.all([2, 3, 4].map((v) => b.submit(rows(v), 1)))), 0));
    });
    const b = new DynamicBatcher(m.execute, settings({}), observer().o);
    const first = await b.submit(rows(1), 1);
    const rest = await later!;
    assert.deepEqual(m.calls, [1, 3]);
    assert.deepEqual(
      [first, ...rest].map((r) => r[0]!.data[0]),
      [2, 4, 6, 8],
    );
  });

  it('waits up to maxQueueDelayMs for more rows, and no longer once the batch is full', async () => {
    const m = doubler();
    const b = new DynamicBatcher(m.execute, settings({ maxQueueDelayMs: 200, maxBatchSize: 4 }), observer().o);
    const t0 = performance.now();
    const a = b.submit(rows(1), 1);
    await new Promise((r) => setTimeout(r, 10));
    const c = b.submit(rows(2), 1);
    await Promise.all([a, c]);
    assert.deepEqual(m.calls, [2]);
    assert.ok(performance.now() - t0 >= 190, 'the first request waited for the delay');
    const slow = new DynamicBatcher(m.execute, settings({ maxQueueDelayMs: 5_000, maxBatchSize: 4 }), observer().o);
    const t1 = performance.now();
    await Promise.all([1, 2, 3, 4].map((v) => slow.submit(rows(v), 1)));
    assert.deepEqual(m.calls, [2, 4]);
    assert.ok(performance.now() - t1 < 2_500, 'a full batch does not wait for the delay');
  });

  it('answers 503 when the queue is full', async () => {
    const m = doubler();
    const { seen, o } = observer();
    const b = new DynamicBatcher(m.execute, settings({ maxQueueSize: 2 }), o);
    const results = await Promise.allSettled([1, 2, 3].map((v) => b.submit(rows(v), 1)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    const err = (results[2] as PromiseRejectedResult).reason;
    assert.ok(err instanceof ServiceUnavailableException);
    assert.match(err.message, /queue is full/);
    assert.deepEqual(seen.rejected, ['queue_full']);
  });

  it('answers 503 for a request that waited past timeoutMs, without running it', async () => {
    const m = doubler(25);
    const { seen, o } = observer();
    const b = new DynamicBatcher(m.execute, settings({ maxBatchSize: 1, timeoutMs: 10 }), o);
    const results = await Promise.allSettled([1, 2].map((v) => b.submit(rows(v), 1)));
    assert.equal(results[0]!.status, 'fulfilled');
    assert.equal(results[1]!.status, 'rejected');
    assert.match((results[1] as PromiseRejectedResult).reason.message, /waited more than 10 ms/);
    assert.deepEqual(m.calls, [1]);
    assert.deepEqual(seen.rejected, ['timeout']);
  });

  it('fails every request of a batch whose call failed, and keeps serving', async () => {
    let fail = true;
    const b = new DynamicBatcher(
      async (inputs) => {
        if (fail) throw new Error('boom');
        return inputs;
      },
      settings({}),
      observer().o,
    );
    const results = await Promise.allSettled([b.submit(rows(1), 1), b.submit(rows(2), 1)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    const ok = await b.submit(rows(5), 1);
    assert.deepEqual(Array.from(ok[0]!.data as Float32Array), [5]);
  });

  it('runs a batch refused with a 4xx again request by request: only the culprit is refused', async () => {
    const calls: number[] = [];
    const b = new DynamicBatcher(
      async (inputs) => {
        const values = Array.from(inputs[0]!.data as Float32Array);
        calls.push(values.length);
        if (values.includes(666)) throw new BadRequestException("input 'x' is too large for the model's memory");
        return inputs;
      },
      settings({}),
      observer().o,
    );
    const results = await Promise.allSettled([b.submit(rows(1), 1), b.submit(rows(666), 1), b.submit(rows(3), 1)]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? Array.from(r.value[0]!.data as Float32Array) : (r.reason as Error).message)),
      [[1], "input 'x' is too large for the model's memory", [3]],
    );
    assert.deepEqual(calls, [3, 1, 1, 1], 'the batch, then each request alone');
  });

  it('batches only requests whose inputs agree past the first dimension, and never one without a batch dimension', async () => {
    const calls: number[][] = [];
    const echo = async (inputs: HostTensor[]): Promise<HostTensor[]> => {
      calls.push(inputs[0]!.shape);
      return [{ ...inputs[0]!, name: 'y' }];
    };
    const b = new DynamicBatcher(echo, settings({}), observer().o);
    const t = (shape: number[]): HostTensor[] => [
      { name: 'x', dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, c) => a * c, 1)).fill(shape[1] ?? 0) },
    ];
    const out = await Promise.all([
      b.submit(t([1, 2]), 1),
      b.submit(t([2, 2]), 2),
      b.submit(t([1, 3]), 1),
      b.submit(t([1, 3]), 1),
      b.submit(t([1, 3]), 1, false),
    ]);
    assert.deepEqual(calls, [
      [3, 2],
      [2, 3],
      [1, 3],
    ]);
    assert.deepEqual(
      out.map((r) => r[0]!.shape),
      [
        [1, 2],
        [2, 2],
        [1, 3],
        [1, 3],
        [1, 3],
      ],
    );
  });
});
