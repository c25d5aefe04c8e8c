/**
 * Triton's system shared memory extension, the registry side: named regions of POSIX shared memory
 * objects (`/dev/shm/<key>` on Linux) that inference inputs are read from and outputs written to.
 *
 * A region is a byte range (`offset`, `byte_size`) of one object, opened once at registration with
 * `fs` (read and write, never following a symlink, regular files only) and kept open until it is
 * unregistered. Reads and writes go through the file descriptor at explicit positions (pread/pwrite
 * on tmpfs share the pages the client mapped), so no native mapping library is needed.
 *
 * The registry belongs to this process, as Triton's belongs to its server: shared memory only works
 * between processes of one host, so a client registers with the replica it talks to.
 *
 * Unregistering a region that in-flight requests still use follows Triton: it leaves the registry at
 * once (new requests cannot name it), and its descriptor is closed when the last of them finishes.
 */
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { BadRequestException, NotFoundException } from '@nestjs/common';

/** Where POSIX shared memory objects live on Linux (`shm_open("/name")` is `/dev/shm/name`). */
export const SHM_DIR = '/dev/shm';

/** A key is a POSIX shm name: one optional leading slash, then a plain file name. */
const KEY = /^\/?([A-Za-z0-9_][A-Za-z0-9._-]{0,254})$/;

export interface RegionStatus {
  name: string;
  key: string;
  offset: number;
  byte_size: number;
}

interface Region extends RegionStatus {
  file: fs.FileHandle;
  /** Requests holding the region. */
  users: number;
  /** Unregistered while in use: closed when the last user lets go. */
  closing: boolean;
}

/** A region lent to one request: read and write inside it, then release it. */
export interface RegionLease {
  readonly name: string;
  read(offset: number, byteSize: number): Promise<Buffer>;
  write(offset: number, bytes: Buffer): Promise<void>;
}

function bad(message: string): BadRequestException {
  return new BadRequestException(message);
}

export class SystemSharedMemory {
  private readonly regions = new Map<string, Region>();

  constructor(private readonly dir: string = SHM_DIR) {}

  /** Registers `name` as `byte_size` bytes from `offset` of the object `key` (Triton's messages). */
  async register(name: string, key: unknown, offset: unknown, byteSize: unknown): Promise<void> {
    if (!name) throw bad('name: required (the region name)');
    if (typeof key !== 'string') throw bad("key: required, a string (the shared memory object's name, e.g. /input_data)");
    const match = KEY.exec(key);
    if (!match) {
      throw bad(`key: '${key}' is not a shared memory object name (a plain name under ${this.dir}, optionally with one leading '/')`);
    }
    const off = offset ?? 0;
    if (!Number.isSafeInteger(off) || (off as number) < 0) throw bad('offset: must be a non-negative integer (bytes)');
    if (!Number.isSafeInteger(byteSize) || (byteSize as number) < 0) throw bad('byte_size: required, a non-negative integer (bytes)');
    if (this.regions.has(name)) throw bad(`shared memory region '${name}' already in manager`);
    let file: fs.FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted under /dev/shm must not lead outside it.
      file = await fs.open(join(this.dir, match[1]!), constants.O_RDWR | constants.O_NOFOLLOW);
    } catch {
      throw bad(`Unable to open shared memory region: '${key}'`);
    }
    try {
      const stat = await file.stat();
      if (!stat.isFile()) throw bad(`Invalid shared memory region: '${key}' (not a shared memory object)`);
      if ((off as number) + (byteSize as number) > stat.size) {
        throw bad(
          `failed to register shared memory region '${name}': invalid args (offset ${String(off)} + byte_size ${String(byteSize)} ` +
            `is past the end of '${key}', ${stat.size} bytes)`,
        );
      }
      if (this.regions.has(name)) throw bad(`shared memory region '${name}' already in manager`);
      this.regions.set(name, { name, key, offset: off as number, byte_size: byteSize as number, file, users: 0, closing: false });
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /** Unregisters one region, or every region when `name` is empty (unknown names are no error, as in Triton). */
  async unregister(name?: string): Promise<void> {
    const names = name ? [name] : [...this.regions.keys()];
    for (const n of names) {
      const region = this.regions.get(n);
      if (!region) continue;
      this.regions.delete(n);
      region.closing = true;
      if (region.users === 0) await region.file.close();
    }
  }

  /** Every region, or the one named (404 with Triton's text when it is not registered). */
  status(name?: string): RegionStatus[] {
    if (name) {
      const region = this.regions.get(name);
      if (!region) throw new NotFoundException(`Unable to find system shared memory region: '${name}'`);
      return [statusOf(region)];
    }
    return [...this.regions.values()].map(statusOf);
  }

  /** Holds the named regions for one request; `release` lets them go (closing those unregistered meanwhile). */
  acquire(names: Iterable<string>): { leases: Map<string, RegionLease>; release(): Promise<void> } {
    const held: Region[] = [];
    const leases = new Map<string, RegionLease>();
    for (const name of new Set(names)) {
      const region = this.regions.get(name);
      if (!region) {
        void this.releaseAll(held);
        throw bad(`Unable to find shared memory region: '${name}'`);
      }
      region.users++;
      held.push(region);
      leases.set(name, lease(region));
    }
    return { leases, release: () => this.releaseAll(held) };
  }

  /** Closes every region (the process is stopping). */
  async close(): Promise<void> {
    await this.unregister();
  }

  private async releaseAll(held: Region[]): Promise<void> {
    for (const region of held.splice(0)) {
      region.users--;
      if (region.closing && region.users === 0) await region.file.close();
    }
  }
}

function statusOf(r: Region): RegionStatus {
  return { name: r.name, key: r.key, offset: r.offset, byte_size: r.byte_size };
}

/** Bounds-checked access to one region (offsets are relative to the region, as in Triton). */
function lease(region: Region): RegionLease {
  const check = (offset: number, byteSize: number) => {
    if (offset !== 0 && offset >= region.byte_size) throw bad(`Invalid offset for shared memory region: '${region.name}'`);
    if (offset + byteSize > region.byte_size) throw bad(`Invalid offset + byte size for shared memory region: '${region.name}'`);
  };
  return {
    name: region.name,
    async read(offset, byteSize) {
      check(offset, byteSize);
      const out = Buffer.alloc(byteSize);
      const { bytesRead } = await region.file.read(out, 0, byteSize, region.offset + offset);
      if (bytesRead !== byteSize) {
        throw bad(`shared memory region '${region.name}': the object '${region.key}' is shorter than when it was registered`);
      }
      return out;
    },
    async write(offset, bytes) {
      check(offset, bytes.length);
      await region.file.write(bytes, 0, bytes.length, region.offset + offset);
    },
  };
}

/**
 * Triton's CUDA shared memory extension, answered for clients that call it unconditionally: Kiln
 * serves without GPUs, so nothing can be registered (400 saying so), the status is empty and
 * unregistering succeeds with nothing to do (tritonclient's examples unregister all before they start).
 */
export const cudaSharedMemory = {
  status(name?: string): RegionStatus[] {
    if (name) throw new NotFoundException(`Unable to find cuda shared memory region: '${name}'`);
    return [];
  },
  register(name: string): never {
    throw bad(`failed to register CUDA shared memory region '${name}': CUDA shared memory is not supported (Kiln serves without a GPU)`);
  },
  unregister(): void {
    // nothing is ever registered
  },
};
