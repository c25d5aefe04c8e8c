import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ArtifactNotFoundError,
  ArtifactRef,
  ArtifactStore,
  FsArtifactStoreLocation,
  ArtifactTooLargeError,
  checkTransientId,
  InvalidArtifactIdError,
  TRANSIENT_END_NAME,
  TransientFileGoneError,
  transientPartName,
  PutOptions,
  type TransientEnd,
} from './artifact-store';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Filesystem artifact store: `<root>/sha256/ab/cd/<hash>`. Writes go to `<root>/tmp` first, are
 * hashed while streaming, fsync'd, then renamed into place (atomic on one filesystem) and the
 * directory fsync'd, so a crash leaves either the whole artifact or nothing. Paths are built only
 * from validated hex digests (transient files: `<root>/transient/<uuid>/`, validated UUIDs), so no
 * input can reach outside the root.
 */
export class FsArtifactStore extends ArtifactStore {
  constructor(private readonly root: string) {
    super();
  }

  async put(content: Readable | AsyncIterable<Uint8Array> | Uint8Array, options: PutOptions = {}): Promise<ArtifactRef> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const source = content instanceof Uint8Array ? Readable.from([content]) : content;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Uint8Array | string>) {
          for await (const raw of chunks) {
            const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
            size += chunk.length;
            if (size > maxBytes) throw new ArtifactTooLargeError(maxBytes);
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp, { flags: 'wx', mode: 0o640 }),
      );
      await fsyncPath(tmp);
      const sha256 = hash.digest('hex');
      const target = this.pathOf(sha256);
      await mkdir(dirname(target), { recursive: true });
      // Same content already stored: keep the existing file (content-addressed, so identical).
      if (await exists(target)) {
        await rm(tmp, { force: true });
      } else {
        await rename(tmp, target);
        await fsyncPath(dirname(target));
      }
      return { sha256, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(sha256: string): Promise<Readable> {
    const path = this.pathOf(sha256);
    // Open first so a missing artifact rejects here rather than erroring later mid-stream.
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new ArtifactNotFoundError(sha256) : err;
    });
    return handle.createReadStream({ autoClose: true });
  }

  async getBuffer(sha256: string): Promise<Buffer> {
    return readFile(this.pathOf(sha256)).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new ArtifactNotFoundError(sha256) : err;
    });
  }

  async stat(sha256: string): Promise<ArtifactRef | null> {
    const s = await stat(this.pathOf(sha256)).catch(() => null);
    return s ? { sha256, size: s.size } : null;
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  async check(): Promise<void> {
    await mkdir(join(this.root, 'tmp'), { recursive: true });
    const probe = join(this.root, 'tmp', `.probe-${randomUUID()}`);
    const handle = await open(probe, 'wx');
    await handle.close();
    await rm(probe, { force: true });
  }

  location(): FsArtifactStoreLocation {
    return { kind: 'filesystem', root: this.root };
  }

  async putTransientPart(id: string, index: number, bytes: Buffer): Promise<void> {
    await this.writeTransient(id, transientPartName(index), bytes, index === 0);
  }

  async endTransient(id: string, end: TransientEnd): Promise<void> {
    await this.writeTransient(id, TRANSIENT_END_NAME, Buffer.from(JSON.stringify(end)), end.parts === 0);
  }

  async getTransientPart(id: string, index: number): Promise<Readable | null> {
    const handle = await open(join(this.transientDir(id), transientPartName(index)), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    return handle ? handle.createReadStream({ autoClose: true }) : null;
  }

  async transientEnd(id: string): Promise<TransientEnd | null> {
    const text = await readFile(join(this.transientDir(id), TRANSIENT_END_NAME), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    return text === null ? null : (JSON.parse(text) as TransientEnd);
  }

  async deleteTransient(id: string): Promise<void> {
    await rm(this.transientDir(id), { recursive: true, force: true });
  }

  async sweepTransient(maxAgeMs: number): Promise<string[]> {
    const ids = await readdir(join(this.root, 'transient')).catch(() => [] as string[]);
    const swept: string[] = [];
    for (const id of ids) {
      // A part or the end marker landing renames into the directory, which updates its mtime: the last write.
      const s = await stat(join(this.root, 'transient', id)).catch(() => null);
      if (!s || Date.now() - s.mtimeMs < maxAgeMs) continue;
      await rm(join(this.root, 'transient', id), { recursive: true, force: true });
      swept.push(id);
    }
    return swept;
  }

  /**
   * Writes `<dir>/<name>` through a temporary name in the same directory, so readers see it whole or not
   * at all. Only the first write (`create`) makes the directory: a later one finding it gone means the
   * file was deleted meanwhile.
   */
  private async writeTransient(id: string, name: string, bytes: Buffer, create: boolean): Promise<void> {
    const dir = this.transientDir(id);
    if (create) await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${name}.${randomUUID()}.tmp`);
    try {
      await writeFile(tmp, bytes, { flag: 'wx', mode: 0o640 });
      await rename(tmp, join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TransientFileGoneError(id);
      throw err;
    }
  }

  private transientDir(id: string): string {
    return join(this.root, 'transient', checkTransientId(id));
  }

  /** Absolute path for a digest; the only place a path is built, and only from 64 hex characters. */
  private pathOf(sha256: string): string {
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) throw new InvalidArtifactIdError(String(sha256));
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
