import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { ArtifactNotFoundError, ArtifactTooLargeError, InvalidArtifactIdError } from './artifact-store';
import { FsArtifactStore } from './fs-artifact-store';

describe('FsArtifactStore', () => {
  let root: string;
  let store: FsArtifactStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'kiln-artifacts-'));
    store = new FsArtifactStore(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('streams content in and out, addressed by its SHA-256', async () => {
    const chunks = Array.from({ length: 50 }, () => randomBytes(64 * 1024));
    const whole = Buffer.concat(chunks);
    const ref = await store.put(Readable.from(chunks));
    assert.equal(ref.sha256, createHash('sha256').update(whole).digest('hex'));
    assert.equal(ref.size, whole.length);
    const back = Buffer.concat(await (await store.get(ref.sha256)).toArray());
    assert.ok(back.equals(whole));
    assert.deepEqual(await store.stat(ref.sha256), ref);
  });

  it('stores identical content once, also when written concurrently', async () => {
    const content = Buffer.from('same bytes, same address');
    const refs = await Promise.all([1, 2, 3, 4].map(() => store.put(content)));
    assert.equal(new Set(refs.map((r) => r.sha256)).size, 1);
    assert.equal(await text(await store.get(refs[0]!.sha256)), 'same bytes, same address');
    assert.deepEqual(await readdir(join(root, 'tmp')), [], 'no temporary files left');
  });

  it('refuses content over maxBytes and leaves nothing behind', async () => {
    await assert.rejects(store.put(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 }), ArtifactTooLargeError);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  it('rejects any id that is not a SHA-256 digest, so no input reaches outside the root', async () => {
    const attempts = ['../../etc/passwd', '/etc/passwd', `${'a'.repeat(63)}\0`, 'a'.repeat(64) + '/../x', 'A'.repeat(64), '..', ''];
    for (const id of attempts) {
      await assert.rejects(store.get(id), InvalidArtifactIdError, JSON.stringify(id));
      await assert.rejects(store.getBuffer(id), InvalidArtifactIdError);
      await assert.rejects(store.delete(id), InvalidArtifactIdError);
    }
  });

  it('reports a missing artifact as not found', async () => {
    await assert.rejects(store.get('0'.repeat(64)), ArtifactNotFoundError);
    assert.equal(await store.stat('0'.repeat(64)), null);
  });

  it('passes its readiness check when writable and fails when not', async () => {
    await store.check();
    const broken = new FsArtifactStore('/dev/null/artifacts');
    await assert.rejects(broken.check());
  });
});
