/**
 * The verified-key cache of ApiKeysService on a real PostgreSQL (a scratch database, migrated): concurrent
 * misses of one key share one lookup (a hot key's expiry under 64 clients used to send 64 queries at once),
 * a hot key is re-verified before it expires, and a revoked key still stops working within
 * VERIFIED_KEY_TTL_MS without change events, or at once with them. Time is moved with node:test's mocked
 * Date; the lookups are counted on the real repository.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test';
import { DataSource, type Repository } from 'typeorm';
import { ApiKeyEntity } from '../../src/platform/auth/api-key.entity';
import { ApiKeysService, VERIFIED_KEY_REFRESH_MS, VERIFIED_KEY_TTL_MS } from '../../src/platform/auth/api-keys.service';
import type { KilnConfig } from '../../src/platform/config/kiln-config';
import type { ChangeEvent, ChangeEvents } from '../../src/platform/events/change-events';
import { dataSourceOptions } from '../../src/platform/database/data-source-options';
import { runMigrationsLocked } from '../../src/platform/database/migrate';
import { createScratchDatabase, eventually, skipUnless } from '../utils/test-kiln';

const CLIENTS = 64;

void (async () => {
  const skip = await skipUnless('postgres');

  describe('verified API key cache', { skip }, () => {
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
    let db: DataSource;
    let repo: Repository<ApiKeyEntity>;
    let service: ApiKeysService;
    let publish: (event: ChangeEvent) => void;
    let lookups: number;

    /** Inserts a predictor key straight into the table; returns it in clear and its row id. */
    const insertKey = async (): Promise<{ key: string; id: string }> => {
      const keyId = randomBytes(6).toString('hex');
      const key = `kiln_${keyId}_${randomBytes(24).toString('base64url')}`;
      const id = randomUUID();
      const secretHash = createHash('sha256').update(key).digest('hex');
      await repo.insert({ id, keyId, name: 'cache test', role: 'predictor', secretHash, createdBy: null, revokedAt: null });
      return { key, id };
    };
    const revokeBySql = (id: string) => db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [id]);
    /** Lets the background refresh's query finish (it runs on the real database; Date is mocked, timers are not). */
    const settle = () => new Promise((resolve) => setTimeout(resolve, 200));
    /**
     * Holds lookups in PostgreSQL: their SELECT waits for this table lock until `release()`; `waiting()`
     * resolves once one is queued behind it.
     */
    const holdKeysTable = async () => {
      const holder = db.createQueryRunner();
      await holder.connect();
      await holder.startTransaction();
      await holder.query('LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE');
      return {
        waiting: () =>
          eventually(async () => {
            const rows = (await db.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'api_keys'::regclass`)) as unknown[];
            return rows.length > 0 ? true : undefined;
          }),
        release: async () => {
          if (holder.isReleased) return;
          await holder.commitTransaction();
          await holder.release();
        },
      };
    };
    const verifyAll = (key: string) => Promise.all(Array.from({ length: CLIENTS }, () => service.verify(key)));

    before(async () => {
      scratch = await createScratchDatabase();
      db = await new DataSource({ ...dataSourceOptions(scratch.url), entities: [ApiKeyEntity] }).initialize();
      await runMigrationsLocked(db);
      repo = db.getRepository(ApiKeyEntity);
      // Every lookup of a presented key is one findOne: count them on the real repository.
      const findOne = repo.findOne.bind(repo);
      repo.findOne = ((options) => {
        lookups++;
        return findOne(options);
      }) as typeof repo.findOne;
    });

    after(async () => {
      await db?.destroy();
      await scratch?.drop();
    });

    beforeEach(() => {
      lookups = 0;
      mock.timers.enable({ apis: ['Date'], now: Date.now() });
      const events = {
        subscribe: (handler: (event: ChangeEvent) => void) => {
          publish = handler;
          return () => undefined;
        },
      } as unknown as ChangeEvents;
      service = new ApiKeysService(repo, db, {} as KilnConfig, events);
      service.onModuleInit();
    });

    afterEach(() => {
      service.onModuleDestroy();
      mock.timers.reset();
    });

    it(`${CLIENTS} concurrent requests with a key not cached yet cause one lookup`, async () => {
      const { key, id } = await insertKey();
      const principals = await verifyAll(key);
      assert.equal(lookups, 1);
      for (const p of principals) assert.equal(p?.id, id);
    });

    it(`${CLIENTS} concurrent requests with an expired entry cause one lookup`, async () => {
      const { key, id } = await insertKey();
      assert.equal((await service.verify(key))?.id, id);
      mock.timers.tick(VERIFIED_KEY_TTL_MS);
      lookups = 0;
      const principals = await verifyAll(key);
      assert.equal(lookups, 1);
      for (const p of principals) assert.equal(p?.id, id);
      // and the answer is cached again
      await service.verify(key);
      assert.equal(lookups, 1);
    });

    it('concurrent requests with an unknown key share one lookup too, and nothing is cached', async () => {
      const key = `kiln_${randomBytes(6).toString('hex')}_${randomBytes(24).toString('base64url')}`;
      const principals = await verifyAll(key);
      assert.equal(lookups, 1);
      for (const p of principals) assert.equal(p, null);
      assert.equal(await service.verify(key), null);
      assert.equal(lookups, 2);
    });

    it('a hot key is re-verified in the background before it expires, once', async () => {
      const { key, id } = await insertKey();
      await service.verify(key);
      mock.timers.tick(VERIFIED_KEY_REFRESH_MS);
      lookups = 0;
      const principals = await verifyAll(key);
      for (const p of principals) assert.equal(p?.id, id);
      assert.equal(lookups, 1, 'one refresh, started by the first request in the refresh window');
      await settle();
      // past the first verification's TTL, the refreshed entry is still fresh: no lookup, no stall
      mock.timers.tick(VERIFIED_KEY_TTL_MS - VERIFIED_KEY_REFRESH_MS);
      assert.equal((await service.verify(key))?.id, id);
      assert.equal(lookups, 1);
    });

    it('a refresh that fails is not retried by every request: the entry serves until its TTL, then a lookup', async () => {
      const { key, id } = await insertKey();
      await service.verify(key);
      mock.timers.tick(VERIFIED_KEY_REFRESH_MS);
      lookups = 0;
      // a real failure: the table is gone for a moment
      await db.query('ALTER TABLE api_keys RENAME TO api_keys_away');
      try {
        for (let i = 0; i < 3; i++) {
          assert.equal((await service.verify(key))?.id, id);
          await settle();
        }
        assert.equal(lookups, 1);
      } finally {
        await db.query('ALTER TABLE api_keys_away RENAME TO api_keys');
      }
      mock.timers.tick(VERIFIED_KEY_TTL_MS - VERIFIED_KEY_REFRESH_MS);
      assert.equal((await service.verify(key))?.id, id);
      assert.equal(lookups, 2);
    });

    it('a key revoked by SQL (no event) stops working within the TTL, refreshed or not', async () => {
      const { key, id } = await insertKey();
      await service.verify(key);
      await revokeBySql(id);
      // still trusted from the cache before the refresh window: that is the documented bound
      mock.timers.tick(VERIFIED_KEY_REFRESH_MS - 1);
      assert.equal((await service.verify(key))?.id, id);
      // the refresh finds it revoked and drops it: refused before the TTL runs out
      mock.timers.tick(1);
      await service.verify(key);
      await settle();
      assert.equal(await service.verify(key), null);

      // without a request in the refresh window, the entry is not served past the TTL either
      const other = await insertKey();
      await service.verify(other.key);
      await revokeBySql(other.id);
      mock.timers.tick(VERIFIED_KEY_TTL_MS);
      assert.equal(await service.verify(other.key), null);
    });

    it('a revocation event during a lookup: later requests look again, and the old answer is not cached', async () => {
      const { key, id } = await insertKey();
      const held = await holdKeysTable();
      try {
        const early = service.verify(key);
        await held.waiting();
        publish({ topic: 'api-key', id });
        const late = service.verify(key);
        await held.release();
        assert.equal((await early)?.id, id, 'the request that was waiting gets the answer read for it');
        assert.equal((await late)?.id, id);
        assert.equal(lookups, 2, 'a request after the event does not join the earlier lookup');
        await service.verify(key);
        assert.equal(lookups, 2, 'the later lookup cached its answer');
      } finally {
        await held.release();
      }
    });

    it('an answer read before a revocation event is not cached', async () => {
      const { key, id } = await insertKey();
      const held = await holdKeysTable();
      try {
        const early = service.verify(key);
        await held.waiting();
        publish({ topic: 'api-key', id });
        await held.release();
        assert.equal((await early)?.id, id);
        await service.verify(key);
        assert.equal(lookups, 2, 'the next request looked the key up again');
      } finally {
        await held.release();
      }
    });

    it('a cached key is refused at once after its revocation event, and after a resync every key is looked up again', async () => {
      const { key, id } = await insertKey();
      const other = await insertKey();
      await service.verify(key);
      await service.verify(other.key);
      await revokeBySql(id);
      publish({ topic: 'api-key', id });
      assert.equal(await service.verify(key), null);
      lookups = 0;
      publish({ topic: 'resync' });
      assert.equal((await service.verify(other.key))?.id, other.id);
      assert.equal(lookups, 1);
    });
  });
})();
