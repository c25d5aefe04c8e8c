import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { DataSource, IsNull, Repository } from 'typeorm';
import { writeAdminEvent, type AdminActor } from '../audit-trail/admin-event-outbox';
import { KILN_CONFIG, KilnConfig } from '../config/kiln-config';
import { ChangeEvents } from '../events/change-events';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeyDto } from './api-keys.dto';
import { ApiRole, Principal } from './api-roles';

const KEY_PATTERN = /^kiln_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,})$/;
/** Advisory lock taken while seeding the first admin key, so concurrent replicas create one, not several. */
const BOOTSTRAP_LOCK_KEY = 4_118_273_002;
/** `last_used_at` is refreshed at most this often per key, to keep writes off the hot path. */
const LAST_USED_RESOLUTION_MS = 60_000;
/**
 * A verified key is trusted for this long without asking PostgreSQL again (the data plane verifies a
 * key on every request). Revoking takes effect at once on this replica and, through the `api-key` change
 * event, on every other within milliseconds; this TTL bounds it when events are off or the listener is down.
 */
export const VERIFIED_KEY_TTL_MS = 5_000;
/**
 * A key used after this much of its TTL is re-verified in the background while the cached answer is
 * still served, so a hot key never expires under load (which made every in-flight request look it up
 * at once). The refresh never extends the bound above: an entry is served only within
 * VERIFIED_KEY_TTL_MS of the start of the lookup that produced it.
 */
export const VERIFIED_KEY_REFRESH_MS = 4_000;

/** A verified key and when the lookup that verified it started (Date.now()). */
interface VerifiedKey {
  principal: Principal;
  verifiedAt: number;
  /** Its background refresh has started: one per entry, so a database that fails fast is not retried per request. */
  refreshing: boolean;
}

export interface CreatedApiKey {
  key: string;
  apiKey: ApiKeyEntity;
}

/** What a key event is about: the key's row id and public key id. */
function keyTarget(key: ApiKeyEntity): Record<string, unknown> {
  return { id: key.id, keyId: key.keyId, name: key.name };
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

@Injectable()
export class ApiKeysService implements OnModuleInit, OnModuleDestroy, OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly lastUsedWritten = new Map<string, number>();
  /**
   * Presented key → principal, for keys verified within VERIFIED_KEY_TTL_MS (the key itself is the cache
   * key: no hash per request). The age is checked here rather than by lru-cache's `ttl`, whose clock
   * cannot be read or moved: refreshing ahead needs the age, and the tests need to move time.
   */
  private readonly verified = new LRUCache<string, VerifiedKey>({ max: 10_000 });
  /** Lookups under way, by presented key: concurrent misses of one key share one query (single-flight). */
  private readonly lookups = new Map<string, Promise<Principal | null>>();
  /**
   * Bumped whenever keys are forgotten (revoked, changed, listener resync): a lookup that started before
   * may have read the row as it was, so its answer goes to the requests that were already waiting for it
   * but is never cached, and requests that arrive later start a lookup of their own.
   */
  private generation = 0;

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    private readonly events: ChangeEvents,
  ) {}

  private unsubscribe: (() => void) | null = null;

  /** Forgets a key's verification the moment any replica revokes or changes it (or everything, after a listener gap). */
  onModuleInit(): void {
    this.unsubscribe = this.events.subscribe((event) => {
      if (event.topic === 'api-key') this.forget(event.id);
      else if (event.topic === 'resync') this.forgetAll();
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** True when this start generated the first admin key (and printed it). */
  createdAdminKey = false;

  /** Seeds the admin key: `KILN_ADMIN_KEY` when set, else a generated one when no admin exists yet. */
  async onApplicationBootstrap(): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      const repo = tx.getRepository(ApiKeyEntity);
      if (this.config.adminKey) {
        const match = KEY_PATTERN.exec(this.config.adminKey);
        // Any string of 24+ characters is accepted; one not in Kiln's format gets a derived key id.
        const keyId = match ? match[1]! : sha256(this.config.adminKey).slice(0, 12);
        if (!(await repo.exists({ where: { keyId } }))) {
          await repo.insert(this.entity(keyId, 'bootstrap admin (KILN_ADMIN_KEY)', 'admin', this.config.adminKey, null));
        }
        return;
      }
      const admins = await repo.count({ where: { role: 'admin', revokedAt: IsNull() } });
      if (admins > 0) return;
      const created = this.generate('bootstrap admin', 'admin', null);
      await repo.insert(created.apiKey);
      this.createdAdminKey = true;
      const file = join(this.config.dataDir, 'admin.key');
      await mkdir(this.config.dataDir, { recursive: true });
      await writeFile(file, `${created.key}\n`, { mode: 0o600 });
      await chmod(file, 0o600);
      // Printed once, on purpose, on stdout: this is the only time the key exists in clear outside the file.
      process.stdout.write(
        `\n  Kiln created the first admin API key (shown once; also saved to ${file}, mode 0600):\n\n    ${created.key}\n\n`,
      );
      this.logger.warn({ file }, 'created the first admin API key');
    });
  }

  /** Creates a key and its `key.created` event in one transaction (both or neither). */
  async create(name: string, role: ApiRole, createdBy: string | null, actor: AdminActor): Promise<CreatedApiKey> {
    const created = this.generate(name, role, createdBy);
    await this.dataSource.transaction(async (m) => {
      await m.insert(ApiKeyEntity, created.apiKey);
      const after = { ...ApiKeyDto.from(created.apiKey), key: '[redacted]' };
      await writeAdminEvent(m, actor, { action: 'key.created', target: keyTarget(created.apiKey), before: null, after });
    });
    return created;
  }

  list(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'ASC' } });
  }

  get(id: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOne({ where: { id } });
  }

  /**
   * Revokes a key, with its `key.revoked` event in the same transaction; returns null when no such
   * key exists. Revoking twice is harmless (and, changing nothing, logs no second event).
   */
  async revoke(id: string, actor: AdminActor): Promise<ApiKeyEntity | null> {
    const key = await this.dataSource.transaction(async (m) => {
      const found = await m.findOne(ApiKeyEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!found || found.revokedAt) return found;
      const before = ApiKeyDto.from(found);
      found.revokedAt = new Date();
      await m.update(ApiKeyEntity, { id }, { revokedAt: found.revokedAt });
      const after = ApiKeyDto.from(found);
      await writeAdminEvent(m, actor, { action: 'key.revoked', target: keyTarget(found), before, after });
      return found;
    });
    if (!key) return null;
    this.forget(id);
    return key;
  }

  private forget(id: string): void {
    this.generation++;
    this.lookups.clear();
    for (const [presented, v] of this.verified.entries()) if (v.principal.id === id) this.verified.delete(presented);
  }

  private forgetAll(): void {
    this.generation++;
    this.lookups.clear();
    this.verified.clear();
  }

  /** Returns the caller for a presented key, or null when it is unknown, malformed or revoked. */
  async verify(presented: string): Promise<Principal | null> {
    const cached = this.verified.get(presented);
    if (cached) {
      const age = Date.now() - cached.verifiedAt;
      if (age < VERIFIED_KEY_TTL_MS) {
        if (age >= VERIFIED_KEY_REFRESH_MS && !cached.refreshing && !this.lookups.has(presented)) {
          // Served from the cache meanwhile; a failed refresh leaves the entry to expire on its own.
          cached.refreshing = true;
          this.lookup(presented).catch((err: unknown) => this.logger.warn({ err }, 'could not re-verify an API key'));
        }
        return cached.principal;
      }
    }
    return this.lookups.get(presented) ?? this.lookup(presented);
  }

  /** Looks a presented key up once for every caller that asks while it runs, and caches a valid one. */
  private lookup(presented: string): Promise<Principal | null> {
    const generation = this.generation;
    const verifiedAt = Date.now();
    const pending = this.find(presented)
      .then((principal) => {
        if (!principal) this.verified.delete(presented);
        else if (generation === this.generation) this.verified.set(presented, { principal, verifiedAt, refreshing: false });
        return principal;
      })
      .finally(() => {
        if (this.lookups.get(presented) === pending) this.lookups.delete(presented);
      });
    this.lookups.set(presented, pending);
    return pending;
  }

  private async find(presented: string): Promise<Principal | null> {
    const presentedHash = sha256(presented);
    const match = KEY_PATTERN.exec(presented);
    const keyId = match ? match[1]! : sha256(presented).slice(0, 12);
    const row = await this.keys.findOne({
      where: { keyId, revokedAt: IsNull() },
      select: { id: true, keyId: true, name: true, role: true, secretHash: true },
    });
    if (!row) return null;
    const expected = Buffer.from(row.secretHash, 'hex');
    const actual = Buffer.from(presentedHash, 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
    this.touch(row.id);
    return { id: row.id, keyId: row.keyId, name: row.name, role: row.role };
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(id) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWritten.set(id, now);
    this.keys.update({ id }, { lastUsedAt: new Date(now) }).catch((err: unknown) => {
      this.logger.warn({ err }, 'could not record key use');
    });
  }

  private generate(name: string, role: ApiRole, createdBy: string | null): CreatedApiKey {
    const keyId = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
    const key = `kiln_${keyId}_${randomBytes(24).toString('base64url')}`;
    return { key, apiKey: this.entity(keyId, name, role, key, createdBy) };
  }

  private entity(keyId: string, name: string, role: ApiRole, key: string, createdBy: string | null): ApiKeyEntity {
    return Object.assign(new ApiKeyEntity(), {
      id: randomUUID(),
      keyId,
      name,
      role,
      secretHash: sha256(key),
      createdBy,
      revokedAt: null,
      lastUsedAt: null,
    });
  }
}
