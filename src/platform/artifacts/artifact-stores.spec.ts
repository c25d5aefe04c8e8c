import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { S3RVER_CREDENTIALS, startS3Server, type TestS3Server } from '../../../test/support/s3-server';
import {
  ArtifactNotFoundError,
  ArtifactStore,
  ArtifactTooLargeError,
  InvalidArtifactIdError,
  InvalidTransientIdError,
} from './artifact-store';
import { FsArtifactStore } from './fs-artifact-store';
import { S3ArtifactStore } from './s3-artifact-store';
import { followTransientFile, startTransientFile } from './transient-file';

/** One implementation under test: how to open it, and how to list what it left outside its content keys. */
interface Harness {
  store: ArtifactStore;
  /** Temporary files / objects (must be none after every put). */
  leftovers(): Promise<string[]>;
  /** Every transient file / object there is (none once each was streamed or swept). */
  transient(): Promise<string[]>;
  /** A store of the same kind that cannot work (its readiness check must fail). */
  broken(): ArtifactStore;
  close(): Promise<void>;
}

const kinds: Array<[string, () => Promise<Harness>]> = [
  [
    'FsArtifactStore',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'kiln-artifacts-'));
      return {
        store: new FsArtifactStore(root),
        leftovers: () => readdir(join(root, 'tmp')).catch(() => []),
        transient: () => readdir(join(root, 'transient'), { recursive: true }).catch(() => []),
        broken: () => new FsArtifactStore('/dev/null/artifacts'),
        close: () => rm(root, { recursive: true, force: true }),
      };
    },
  ],
  [
    'S3ArtifactStore (on s3rver)',
    async () => {
      const s3: TestS3Server = await startS3Server();
      return {
        // a prefix that needs URL-encoding in CopyObject's source (not `+`: s3rver decodes that header with decodeURI)
        store: new S3ArtifactStore(s3.location('kiln data/'), { credentials: S3RVER_CREDENTIALS }),
        leftovers: () => s3.keys('kiln data/tmp/'),
        transient: () => s3.keys('kiln data/transient/'),
        broken: () => new S3ArtifactStore({ ...s3.location(), bucket: 'no-such-bucket' }, { credentials: S3RVER_CREDENTIALS }),
        close: () => s3.close(),
      };
    },
  ],
];

for (const [name, open] of kinds) {
  describe(name, () => {
    let h: Harness;
    let store: ArtifactStore;
    before(async () => {
      h = await open();
      store = h.store;
    });
    after(() => h.close());

    it('streams content in and out, addressed by its SHA-256', async () => {
      const chunks = Array.from({ length: 50 }, () => randomBytes(64 * 1024));
      const whole = Buffer.concat(chunks);
      const ref = await store.put(Readable.from(chunks));
      assert.equal(ref.sha256, createHash('sha256').update(whole).digest('hex'));
      assert.equal(ref.size, whole.length);
      const back = Buffer.concat(await (await store.get(ref.sha256)).toArray());
      assert.ok(back.equals(whole));
      assert.ok((await store.getBuffer(ref.sha256)).equals(whole));
      assert.deepEqual(await store.stat(ref.sha256), ref);
    });

    it('streams content larger than one upload part (S3: multipart, then copied to its content key)', async () => {
      const chunks = Array.from({ length: 19 }, () => randomBytes(1024 * 1024));
      const whole = Buffer.concat(chunks);
      const ref = await store.put(Readable.from(chunks), { maxBytes: 20 * 1024 * 1024 });
      assert.equal(ref.sha256, createHash('sha256').update(whole).digest('hex'));
      assert.equal(ref.size, whole.length);
      assert.ok(Buffer.concat(await (await store.get(ref.sha256)).toArray()).equals(whole));
      assert.deepEqual(await store.stat(ref.sha256), ref);
      assert.deepEqual(await store.put(Readable.from(chunks)), ref, 'a second put of the same large content');
      assert.deepEqual(await h.leftovers(), [], 'no temporary files left');
    });

    it('stores identical content once, also when written concurrently', async () => {
      const content = Buffer.from('same bytes, same address');
      const refs = await Promise.all([1, 2, 3, 4].map(() => store.put(content)));
      assert.equal(new Set(refs.map((r) => r.sha256)).size, 1);
      assert.equal(await text(await store.get(refs[0]!.sha256)), 'same bytes, same address');
      assert.deepEqual(await store.put(content), refs[0], 'put of stored content is a no-op with the same ref');
      assert.deepEqual(await h.leftovers(), [], 'no temporary files left');
    });

    it('refuses content over maxBytes and leaves nothing behind', async () => {
      await assert.rejects(store.put(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 }), ArtifactTooLargeError);
      const big = Array.from({ length: 12 }, () => Buffer.alloc(1024 * 1024, 7));
      await assert.rejects(store.put(Readable.from(big), { maxBytes: 11 * 1024 * 1024 }), ArtifactTooLargeError);
      assert.equal(await store.stat(createHash('sha256').update(Buffer.concat(big)).digest('hex')), null);
      assert.deepEqual(await h.leftovers(), []);
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
      await assert.rejects(store.getBuffer('0'.repeat(64)), ArtifactNotFoundError);
      assert.equal(await store.stat('0'.repeat(64)), null);
    });

    it('deletes an artifact', async () => {
      const ref = await store.put(Buffer.from(`delete me ${name}`));
      await store.delete(ref.sha256);
      assert.equal(await store.stat(ref.sha256), null);
      await assert.rejects(store.getBuffer(ref.sha256), ArtifactNotFoundError);
    });

    it('streams a transient file while its writer is still writing, then deletes it', { timeout: 30_000 }, async () => {
      // The source yields one part's worth, then waits until the follower has handed bytes on: a store
      // or writer that needed the whole file before the first byte would never get there.
      let firstBytesOut!: () => void;
      const reachedReader = new Promise<void>((resolve) => (firstBytesOut = resolve));
      const head = randomBytes(3000);
      const tail = randomBytes(5000);
      let writerDone = false;
      async function* source() {
        yield head;
        await reachedReader;
        yield tail.subarray(0, 2500);
        yield tail.subarray(2500);
      }
      const id = startTransientFile(store, source(), { partBytes: 2048, onEnd: () => (writerDone = true) });
      const stream = await followTransientFile(store, id);
      const received: Buffer[] = [];
      for await (const chunk of stream) {
        if (received.length === 0) {
          assert.equal(writerDone, false, 'the first bytes arrive while the writer is still writing');
          firstBytesOut();
        }
        received.push(chunk as Buffer);
      }
      assert.ok(Buffer.concat(received).equals(Buffer.concat([head, tail])));
      assert.equal(writerDone, true);
      assert.deepEqual(await h.transient(), [], 'the transient file is deleted once streamed');
    });

    it('stops writing a transient file whose reader went away, and leaves nothing behind', { timeout: 30_000 }, async () => {
      let readerGone!: () => void;
      const gone = new Promise<void>((resolve) => (readerGone = resolve));
      async function* source() {
        yield randomBytes(3000);
        await gone;
        yield randomBytes(3000);
        yield randomBytes(3000);
      }
      let ended!: (err: Error | null) => void;
      const writerEnded = new Promise<Error | null>((resolve) => (ended = resolve));
      const stream = await followTransientFile(store, startTransientFile(store, source(), { partBytes: 2048, onEnd: ended }));
      for await (const chunk of stream) {
        assert.ok((chunk as Buffer).length > 0);
        break; // the client goes away after its first bytes: the stream is destroyed
      }
      await eventuallyEmpty();
      readerGone();
      assert.match(String(await writerEnded), /deleted while being written/);
      assert.deepEqual(await h.transient(), [], 'the writer did not write the rest of the file after its reader left');

      async function eventuallyEmpty(): Promise<void> {
        for (let i = 0; i < 200 && (await h.transient()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(await h.transient(), [], 'deleted when its reader went away');
      }
    });

    it('never deletes an artifact with the same bytes as a transient file', async () => {
      const bytes = Buffer.from(`a dataset file and its download are the same bytes ${name}`);
      const ref = await store.put(bytes);
      const id = startTransientFile(store, Readable.from([bytes]));
      assert.ok(Buffer.concat(await (await followTransientFile(store, id)).toArray()).equals(bytes));
      assert.deepEqual(await h.transient(), []);
      assert.ok((await store.getBuffer(ref.sha256)).equals(bytes), 'the artifact is still there');
    });

    it('fails the stream when the writer fails, and before any byte when it failed first', async () => {
      async function* failsAfterAPart() {
        yield Buffer.alloc(100, 1);
        throw new Error('the query broke');
      }
      const late = await followTransientFile(store, startTransientFile(store, failsAfterAPart(), { partBytes: 50 }));
      await assert.rejects(late.toArray(), /its writer failed: the query broke/);
      // eslint-disable-next-line require-yield
      async function* failsAtOnce(): AsyncGenerator<Buffer> {
        throw new Error('no such table');
      }
      await assert.rejects(followTransientFile(store, startTransientFile(store, failsAtOnce())), /its writer failed: no such table/);
      assert.deepEqual(await h.transient(), [], 'failed transient files are deleted too');
    });

    it('sweeps transient files not written to for the TTL, and nothing else', async () => {
      const ref = await store.put(Buffer.from(`kept artifact ${name}`));
      const id = randomUUID();
      await store.putTransientPart(id, 0, Buffer.from('never fetched'));
      assert.deepEqual(await store.sweepTransient(60 * 60_000), [], 'younger than the TTL: kept');
      assert.notDeepEqual(await h.transient(), []);
      assert.deepEqual(await store.sweepTransient(0), [id]);
      assert.deepEqual(await h.transient(), []);
      assert.notEqual(await store.stat(ref.sha256), null, 'artifacts are not transient files');
    });

    it('rejects a transient id that is not a UUID', async () => {
      for (const id of ['../sha256', `${randomUUID()}/../x`, '', 'A'.repeat(36)]) {
        await assert.rejects(store.getTransientPart(id, 0), InvalidTransientIdError, JSON.stringify(id));
        await assert.rejects(store.deleteTransient(id), InvalidTransientIdError);
      }
    });

    it('passes its readiness check when usable and fails when not', async () => {
      await store.check();
      await assert.rejects(h.broken().check());
    });
  });
}
