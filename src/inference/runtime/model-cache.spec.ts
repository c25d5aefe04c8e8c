import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadedModel } from './loaded-model';
import { ModelCache, versionKey } from './model-cache';

/** Stand-in with LoadedModel's lifecycle (acquire/release/unload); the cache never runs a model. */
class FakeModel {
  inFlight = 0;
  wantUnload = false;
  unloaded = false;
  constructor(
    readonly key: string,
    readonly weightBytes: number,
  ) {}
  acquire() {
    this.inFlight++;
  }
  release() {
    this.inFlight--;
    if (this.inFlight === 0 && this.wantUnload) this.unloaded = true;
  }
  unload() {
    this.wantUnload = true;
    if (this.inFlight === 0) this.unloaded = true;
  }
}

function cache(limits: { maxModels: number; maxBytes: number }, bytes = 100) {
  const loads: string[] = [];
  const models = new Map<string, FakeModel>();
  const c = new ModelCache(async (name, version) => {
    const key = versionKey(name, version);
    loads.push(key);
    await new Promise((r) => setTimeout(r, 5));
    const m = new FakeModel(key, bytes);
    models.set(key, m);
    return m as unknown as LoadedModel;
  }, limits);
  return { c, loads, models };
}

describe('ModelCache', () => {
  it('coalesces concurrent loads of one version', async () => {
    const { c, loads } = cache({ maxModels: 4, maxBytes: 1e9 });
    const [a, b] = await Promise.all([c.acquire('m', 1), c.acquire('m', 1)]);
    assert.equal(a, b);
    assert.deepEqual(loads, ['m@1']);
    assert.equal((a as unknown as FakeModel).inFlight, 2);
  });

  it('evicts the least recently used unpinned version past the count bound, after its requests finish', async () => {
    const { c, models } = cache({ maxModels: 2, maxBytes: 1e9 });
    const held = await c.acquire('m', 1);
    await c.ensure('m', 2);
    await c.ensure('m', 3); // m@1 is the least recently used
    assert.equal(c.isLoaded('m@1'), false);
    assert.equal(models.get('m@1')!.unloaded, false, 'still serving its in-flight request');
    held.release();
    assert.equal(models.get('m@1')!.unloaded, true);
    assert.equal(c.size, 2);
  });

  it('evicts past the byte bound and never evicts pinned versions', async () => {
    const { c } = cache({ maxModels: 10, maxBytes: 250 });
    c.pin(new Set(['m@1']));
    await c.ensure('m', 1);
    await c.ensure('m', 2);
    await c.ensure('m', 3);
    assert.equal(c.isLoaded('m@1'), true, 'pinned');
    assert.equal(c.isLoaded('m@2'), false, 'least recently used unpinned');
    assert.equal(c.isLoaded('m@3'), true);
    assert.ok(c.bytes <= 250);
  });

  it('unloads a version when it is unpinned, and reloads it on demand', async () => {
    const { c, loads, models } = cache({ maxModels: 10, maxBytes: 1e9 });
    c.pin(new Set(['m@1']));
    await c.ensure('m', 1);
    c.pin(new Set());
    assert.equal(models.get('m@1')!.unloaded, true);
    assert.equal(c.acquireLoaded('m@1'), null);
    const again = await c.acquire('m', 1);
    assert.equal((again as unknown as FakeModel).unloaded, false);
    assert.deepEqual(loads, ['m@1', 'm@1']);
  });

  it('does not cache a failed load', async () => {
    let fail = true;
    const c = new ModelCache(
      async () => {
        if (fail) throw new Error('no such version');
        return new FakeModel('m@1', 1) as unknown as LoadedModel;
      },
      { maxModels: 2, maxBytes: 1e9 },
    );
    await assert.rejects(c.acquire('m', 1), /no such version/);
    fail = false;
    assert.ok(await c.acquire('m', 1));
  });

  it('holds a version loaded through the repository API: never evicted, kept when the pinned set changes, dropped by unload', async () => {
    const { c, models } = cache({ maxModels: 1, maxBytes: 1e9 });
    await c.hold('m', 1);
    c.pin(new Set(['m@2']));
    await c.ensure('m', 2);
    c.pin(new Set());
    await c.ensure('m', 3); // past the bound: m@3 itself is the only candidate to evict
    assert.equal(c.isLoaded('m@1'), true);
    assert.equal(models.get('m@1')!.unloaded, false);
    assert.deepEqual(c.heldKeys(), ['m@1']);
    c.unload('m@1');
    assert.equal(c.isLoaded('m@1'), false);
    assert.equal(models.get('m@1')!.unloaded, true);
    assert.deepEqual(c.heldKeys(), []);
  });
});
