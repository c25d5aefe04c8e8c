/**
 * Registering and unregistering shared memory regions are admin actions: each answered call that
 * changes something, on REST or gRPC, leaves exactly one admin event (`shared-memory.registered` /
 * `shared-memory.unregistered`) in the events chain; a refused call, and an unregister that finds no
 * region (Triton answers it with success; CUDA regions never exist here), leave none.
 *
 * The regions live in this process (runtime/system-shared-memory.ts), not in PostgreSQL, so the
 * change and its event cannot share a transaction. The order keeps "answered ⇔ audited":
 *  - register: the region is registered, then its event committed; if the event cannot be written
 *    the region is unregistered again and the call fails (nothing changed, nothing logged);
 *  - unregister: the event (with the regions it removes) is committed first, then the regions are
 *    dropped (which cannot fail: closing a descriptor late is logged, not thrown).
 * A process killed between the two loses its regions anyway (they are process state), so no
 * registration outlives a missing event.
 *
 * The event's target names the process (`host`, `pid`): regions belong to one replica.
 */
import { hostname } from 'node:os';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { writeAdminEvent, type AdminActor } from '../platform/audit-trail/admin-event-outbox';
import { InferenceService } from './inference.service';
import type { RegionStatus } from './runtime/system-shared-memory';

@Injectable()
export class SharedMemoryAdmin {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly inference: InferenceService,
  ) {}

  /** Registers a system shared memory region (Triton's checks and messages) and audits it. */
  async register(name: string, key: unknown, offset: unknown, byteSize: unknown, actor: AdminActor): Promise<void> {
    const regions = this.inference.sharedMemory;
    await regions.register(name, key, offset, byteSize);
    try {
      await this.event(actor, 'shared-memory.registered', name, null, regions.status(name)[0]!);
    } catch (e) {
      await regions.unregister(name);
      throw e;
    }
  }

  /** Unregisters one region (`name`), or all of them, audited with the regions it removed (none: no error, no event). */
  async unregister(name: string | undefined, actor: AdminActor): Promise<void> {
    const regions = this.inference.sharedMemory;
    const removed = regions.status().filter((r) => !name || r.name === name);
    if (removed.length === 0) return;
    await this.event(actor, 'shared-memory.unregistered', name ?? null, removed, null);
    await regions.unregister(name);
  }

  private event(
    actor: AdminActor,
    action: string,
    region: string | null,
    before: RegionStatus[] | null,
    after: RegionStatus | null,
  ): Promise<string> {
    const target = { kind: 'system', region, host: hostname(), pid: process.pid };
    return this.db.transaction((m) => writeAdminEvent(m, actor, { action, target, before, after }));
  }
}
