/**
 * The queued-job-row kit (src/platform/queues/queued-job-row.ts) on a real PostgreSQL (a scratch
 * database, schema synchronised from two throwaway entities) and a real BullMQ queue on Redis.
 * The domains' own e2e tests cover it through their APIs; this pins the kit's contract itself.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConflictException, NotFoundException } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Column, DataSource, Entity, IsNull, type EntityManager, type Repository } from 'typeorm';
import {
  CancellableJobColumns,
  CancellableJobRows,
  isLastAttempt,
  JobRowColumns,
  JobRows,
  type QueuedJobStatus,
} from '../../src/platform/queues/queued-job-row';
import { BatchPredictionEntity } from '../../src/inference/batch-predictions/batch-prediction.entity';
import { DatasetVersionEntity } from '../../src/ingestion/dataset-version.entity';
import { dataSourceOptions } from '../../src/platform/database/data-source-options';
import { runMigrationsLocked } from '../../src/platform/database/migrate';
import { TrainingJobEntity } from '../../src/training/training-job.entity';
import { createScratchDatabase, eventually, skipUnless, TEST_REDIS_URL } from '../utils/test-kiln';

@Entity({ name: 'kit_jobs' })
class KitJob extends CancellableJobColumns {
  @Column({ type: 'text', nullable: true })
  output!: string | null;
}

const DOMAIN_ROWS = [TrainingJobEntity, BatchPredictionEntity, DatasetVersionEntity];

type KitVersionStatus = 'pending' | 'processing' | 'ready' | 'failed';

@Entity({ name: 'kit_versions' })
class KitVersion extends JobRowColumns<KitVersionStatus> {
  @Column({ name: 'rows_processed', type: 'integer', default: 0 })
  rowsProcessed!: number;
}

void (async () => {
  const skip = await skipUnless('redis');

  describe('queued-job-row kit', { skip }, () => {
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
    let db: DataSource;
    let repo: Repository<KitJob>;
    let rows: CancellableJobRows<KitJob>;
    let queue: Queue;
    const migratedColumns = new Map<string, { entity: string[]; table: string[] }>();

    const insert = async (status: QueuedJobStatus, extra: Partial<KitJob> = {}): Promise<string> => {
      const id = randomUUID();
      await repo.insert({ id, status, ...extra });
      return id;
    };
    const read = (id: string): Promise<KitJob> => repo.findOneByOrFail({ id });

    before(async () => {
      scratch = await createScratchDatabase();
      // the real schema first (migrations), then the throwaway kit tables beside it
      const migrated = await new DataSource({ ...dataSourceOptions(scratch.url), entities: DOMAIN_ROWS }).initialize();
      try {
        await runMigrationsLocked(migrated);
        for (const entity of DOMAIN_ROWS) {
          const meta = migrated.getMetadata(entity);
          const cols: Array<{ name: string }> = await migrated.query(
            `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
            [meta.tableName],
          );
          const mapped = meta.columns.map((c) => c.databaseName).sort();
          migratedColumns.set(meta.tableName, { entity: mapped, table: cols.map((c) => c.name).sort() });
        }
      } finally {
        await migrated.destroy();
      }
      db = await new DataSource({ type: 'postgres', url: scratch.url, entities: [KitJob, KitVersion], synchronize: true }).initialize();
      repo = db.getRepository(KitJob);
      rows = new CancellableJobRows(repo, 'kit job');
      const url = new URL(TEST_REDIS_URL);
      queue = new Queue('kit', { connection: { host: url.hostname, port: Number(url.port || 6379) }, prefix: `kit-${randomUUID()}` });
    });

    after(async () => {
      await queue?.obliterate({ force: true }).catch(() => undefined);
      await queue?.close();
      await db?.destroy();
      await scratch?.drop();
    });

    it('maps the columns of the three migrated job tables exactly (no migration needed)', () => {
      assert.deepEqual([...migratedColumns.keys()].sort(), ['batch_predictions', 'dataset_versions', 'training_jobs']);
      for (const [table, { entity, table: migrated }] of migratedColumns) assert.deepEqual(entity, migrated, table);
    });

    it("gives a row of its own the kit columns, under the migrations' names", () => {
      const names = db
        .getMetadata(KitJob)
        .columns.map((c) => c.databaseName)
        .sort();
      const expected = ['id', 'status', 'attempts', 'created_at', 'started_at', 'finished_at', 'updated_at'];
      expected.push('cancel_requested', 'error_code', 'error');
      assert.deepEqual(names, [...expected, 'output'].sort());
    });

    it('claims a queued row, again after a crash (startedAt kept), never a finished or cancel-requested one', async () => {
      const id = await insert('queued');
      assert.equal(await rows.claim(id), true);
      const first = await read(id);
      assert.equal(first.status, 'running');
      assert.equal(first.attempts, 1);
      assert.ok(first.startedAt);
      assert.equal(await rows.claim(id), true, 'a retry claims a running row');
      const second = await read(id);
      assert.equal(second.attempts, 2);
      assert.equal(second.startedAt!.getTime(), first.startedAt.getTime());

      await rows.fail(id, 'BAD', 'bad input');
      assert.equal(await rows.claim(id), false);
      assert.equal((await read(id)).attempts, 2);
      assert.equal(await rows.claim(await insert('queued', { cancelRequested: true })), false);
    });

    it('marks failed or cancelled only what is not final yet', async () => {
      const id = await insert('running');
      await rows.fail(id, 'CODE', 'why');
      const failed = await read(id);
      assert.deepEqual([failed.status, failed.errorCode, failed.error], ['failed', 'CODE', 'why']);
      assert.ok(failed.finishedAt);
      await rows.markCancelled(id);
      assert.equal((await read(id)).status, 'failed');

      const done = await insert('succeeded');
      await rows.fail(done, 'CODE', 'late');
      assert.deepEqual([(await read(done)).status, (await read(done)).error], ['succeeded', null]);

      const handedOff = await insert('running', { output: 'x' });
      await rows.markCancelled(handedOff, { where: { output: IsNull() } });
      assert.equal((await read(handedOff)).status, 'running', 'the extra where clause holds');
      const open = await insert('running');
      await rows.markCancelled(open, { where: { output: IsNull() }, set: { output: 'none' } });
      assert.deepEqual([(await read(open)).status, (await read(open)).output], ['cancelled', 'none']);
    });

    it('calls back once a cancel request is on the row', async () => {
      const id = await insert('running');
      let seen = false;
      const stop = rows.watchCancel(id, () => (seen = true));
      try {
        await repo.update({ id }, { cancelRequested: true });
        await eventually(async () => (seen ? true : undefined), 5_000);
      } finally {
        stop();
      }
    });

    it('gets (404 for an unknown or malformed id) and lists newest first', async () => {
      const notFound = (e: unknown) => e instanceof NotFoundException && e.message === 'kit job not-a-uuid not found';
      await assert.rejects(rows.get('not-a-uuid'), notFound);
      const unknown = randomUUID();
      await assert.rejects(rows.get(unknown), new RegExp(`kit job ${unknown} not found`));
      const id = await insert('queued');
      assert.equal((await rows.get(id)).id, id);
      const listed = await rows.list(2);
      assert.equal(listed.length, 2);
      assert.ok(listed[0]!.createdAt.getTime() >= listed[1]!.createdAt.getTime());
    });

    it('cancels: a queued row at once (queue job removed), a running one by flag, a final one never (409)', async () => {
      const recorded: Array<{ id: string; status: string; inTransaction: boolean }> = [];
      const options = (id: string) => ({
        runningWhere: { output: IsNull() },
        record: async (m: EntityManager, row: KitJob) => {
          recorded.push({ id: row.id, status: row.status, inTransaction: m.queryRunner?.isTransactionActive ?? false });
        },
        queue,
        queueJobId: `kit__${id}`,
        refusal: (row: KitJob) => (row.status === 'running' ? `kit job ${id} has handed its output on` : undefined),
      });

      const queued = await insert('queued');
      await queue.add('kit.run', {}, { jobId: `kit__${queued}` });
      const cancelled = await rows.cancel(queued, options(queued));
      assert.deepEqual([cancelled.status, cancelled.cancelRequested], ['cancelled', true]);
      assert.ok(cancelled.finishedAt);
      assert.equal(await queue.getJob(`kit__${queued}`), undefined);

      const running = await insert('running');
      const flagged = await rows.cancel(running, options(running));
      assert.deepEqual([flagged.status, flagged.cancelRequested], ['running', true]);
      assert.deepEqual(recorded, [
        { id: queued, status: 'cancelled', inTransaction: true },
        { id: running, status: 'running', inTransaction: true },
      ]);

      const handedOff = await insert('running', { output: 'x' });
      const conflict = (message: string) => (e: unknown) => e instanceof ConflictException && e.message === message;
      await assert.rejects(rows.cancel(handedOff, options(handedOff)), conflict(`kit job ${handedOff} has handed its output on`));
      const done = await insert('succeeded');
      await assert.rejects(rows.cancel(done, options(done)), conflict(`kit job ${done} is succeeded and cannot be cancelled`));
      assert.equal(recorded.length, 2, 'nothing recorded for a refused cancel');
    });

    it('works with a domain’s own statuses (waiting pending, active processing) and extra claim columns', async () => {
      const versions = db.getRepository(KitVersion);
      const kit = new JobRows(versions, 'kit version', { waiting: 'pending', active: 'processing', failed: 'failed' });
      const id = randomUUID();
      await versions.insert({ id, status: 'pending', rowsProcessed: 7 });
      assert.equal(await kit.claim(id, { rowsProcessed: 0 }), true);
      const claimed = await versions.findOneByOrFail({ id });
      assert.deepEqual([claimed.status, claimed.attempts, claimed.rowsProcessed], ['processing', 1, 0]);
      assert.equal(kit.isFinished(claimed), false);
      await kit.markFailed(id, { rowsProcessed: 3 });
      const failed = await versions.findOneByOrFail({ id });
      assert.deepEqual([failed.status, failed.rowsProcessed], ['failed', 3]);
      assert.equal(kit.isFinished(failed), true);
      assert.equal(await kit.claim(id), false);
    });

    it('queues again a row left waiting without its queue job (a crash between commit and enqueue), nothing else', async () => {
      const old = new Date(Date.now() - 5 * 60_000);
      const orphan = await insert('queued');
      const withJob = await insert('queued');
      const fresh = await insert('queued');
      const running = await insert('running');
      const cancelled = await insert('cancelled');
      for (const id of [orphan, withJob, running, cancelled]) await repo.update({ id }, { createdAt: old });
      const jobOf = (row: KitJob) => ({ queue, name: 'run', data: { id: row.id }, opts: { jobId: `run__${row.id}` } });
      await queue.add('run', { id: withJob }, { jobId: `run__${withJob}` });

      assert.deepEqual(await rows.requeueOrphans(jobOf, 60_000), [orphan]);
      const job = await queue.getJob(`run__${orphan}`);
      assert.deepEqual(job?.data, { id: orphan }, 'the orphan is queued under its deterministic id with its payload');
      assert.equal(await queue.getJob(`run__${fresh}`), undefined, 'a row within the grace period may still be being queued');
      assert.equal(await queue.getJob(`run__${running}`), undefined);
      assert.equal(await queue.getJob(`run__${cancelled}`), undefined);
      assert.deepEqual(await rows.requeueOrphans(jobOf, 60_000), [], 'a second pass (another replica) adds nothing');
      assert.equal((await queue.getJobs(['waiting'])).filter((j) => j.id === `run__${orphan}`).length, 1);
    });

    it('knows the last attempt of a queue job', () => {
      const job = (attemptsMade: number, attempts?: number) =>
        ({ attemptsMade, opts: attempts === undefined ? {} : { attempts } }) as never;
      assert.equal(isLastAttempt(job(0)), true);
      assert.equal(isLastAttempt(job(0, 3)), false);
      assert.equal(isLastAttempt(job(1, 3)), false);
      assert.equal(isLastAttempt(job(2, 3)), true);
    });
  });
})();
