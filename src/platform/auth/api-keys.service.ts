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
  /** Presented key → principal, for keys verified within VERIFIED_KEY_TTL_MS (the key itself is the cache key: no hash per request). */
  private readonly verified = new LRUCache<string, Principal>({ max: 10_000, ttl: VERIFIED_KEY_TTL_MS });

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
      else if (event.topic === 'resync') this.verified.clear();
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
    for (const [presented, p] of this.verified.entries()) if (p.id === id) this.verified.delete(presented);
  }

  /** Returns the caller for a presented key, or null when it is unknown, malformed or revoked. */
  async verify(presented: string): Promise<Principal | null> {
    const cached = this.verified.get(presented);
    if (cached) return cached;
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
    const principal = { id: row.id, keyId: row.keyId, name: row.name, role: row.role };
    this.verified.set(presented, principal);
    return principal;
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
