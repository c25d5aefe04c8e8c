/**
 * bench/serve/chainer-drain.ts — CPU per chained audit record, in the chainer (Node) and in its
 * PostgreSQL backend, this build against another build, in one run (machine PostgreSQL):
 *
 *   npm run build --silent && node dist/bench/serve/chainer-drain.js <other build>/dist
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_RECORDS=20000 BENCH_GROUP=50 BENCH_ROUNDS=3 \
 *     node dist/bench/serve/chainer-drain.js /tmp/base/dist
 *
 * Per round and build (the builds take turns): a scratch database with that build's migrations,
 * BENCH_RECORDS record-API predictions staged in `audit_staging` as AuditSink stages them (one row of
 * BENCH_GROUP records per group commit; bench/serve/chainer-cost.ts's records), then that build's
 * StagedChainer run pass after pass on this thread until nothing is staged. Measured over the drain:
 * this process's CPU (`process.cpuUsage`: the chainer's JavaScript and node-postgres) and the CPU of
 * the chainer connection's PostgreSQL backend (/proc/<pid>/stat, 10 ms ticks), per record; and the
 * log's size per record (heap + indexes). A backlog drained at full speed, so the numbers hold no
 * HTTP serving and no idle polling: steadier than a serving bench's CPU per request on a shared
 * machine, and what the chainer costs per record under load. Medians over the rounds.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import type { DataSource, DataSourceOptions } from 'typeorm';
import { stagedBatchText } from './audit-fixture';
import { cpuSnapshot, cpuSecondsBetween } from './proc-stats';
import { runBench } from '../common/run-bench';

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const RECORDS = Number(process.env.BENCH_RECORDS ?? 20_000);
const GROUP = Number(process.env.BENCH_GROUP ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Build {
  label: string;
  dataSourceOptions(url: string, pool?: { max?: number }): DataSourceOptions;
  DataSource: new (o: DataSourceOptions) => DataSource;
  StagedChainer: new (db: DataSource, writer: unknown) => { pass(): Promise<number> };
  AuditLogWriter: new (db: DataSource) => unknown;
}

/* eslint-disable @typescript-eslint/no-require-imports -- another build's compiled modules, by path */
function load(label: string, dist: string): Build {
  return {
    label,
    dataSourceOptions: (require(join(dist, 'src/platform/database/data-source-options.js')) as Pick<Build, 'dataSourceOptions'>)
      .dataSourceOptions,
    DataSource: (require('typeorm') as { DataSource: Build['DataSource'] }).DataSource,
    StagedChainer: (require(join(dist, 'src/audit/log/staged-chainer.js')) as Pick<Build, 'StagedChainer'>).StagedChainer,
    AuditLogWriter: (require(join(dist, 'src/audit/log/audit-log.writer.js')) as Pick<Build, 'AuditLogWriter'>).AuditLogWriter,
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

async function admin<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: BASE_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

interface Drain {
  nodeUsPerRecord: number;
  postgresUsPerRecord: number;
  bytesPerRecord: number;
  recordsPerSecond: number;
}

async function drain(build: Build): Promise<Drain> {
  const name = `kiln_bench_drain_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  const db = await new build.DataSource(build.dataSourceOptions(url.toString(), { max: 1 })).initialize();
  try {
    await db.runMigrations({ transaction: 'each' });
    for (let staged = 0; staged < RECORDS; staged += GROUP) {
      const n = Math.min(GROUP, RECORDS - staged);
      await db.query(`INSERT INTO audit_staging (records, batch) VALUES ($1, $2)`, [n, stagedBatchText(n)]);
    }
    const chainer = new build.StagedChainer(db, new build.AuditLogWriter(db));
    const [{ pid }] = (await db.query(`SELECT pg_backend_pid() AS pid`)) as Array<{ pid: number }>;
    await db.query(`CHECKPOINT`).catch(() => undefined);
    const before = cpuSnapshot([pid]);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    while ((await chainer.pass()) > 0);
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const pg = cpuSecondsBetween(before, cpuSnapshot([pid]));
    const [{ logged, bytes }] = (await db.query(
      `SELECT (SELECT count(*) FROM audit_predictions)::int AS logged,
              (SELECT COALESCE(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i
                WHERE i.inhparent = 'audit_predictions'::regclass)::bigint AS bytes`,
    )) as Array<{ logged: number; bytes: string }>;
    if (logged !== RECORDS) throw new Error(`${build.label}: ${logged} of ${RECORDS} records chained`);
    return {
      nodeUsPerRecord: (c.user + c.system) / RECORDS,
      postgresUsPerRecord: (pg * 1e6) / RECORDS,
      bytesPerRecord: Number(bytes) / RECORDS,
      recordsPerSecond: RECORDS / seconds,
    };
  } finally {
    await db.destroy();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/serve/chainer-drain.js <other build>/dist');
  const builds = [load(`baseline (${other})`, resolve(other)), load('this build', resolve(__dirname, '..', '..'))];
  const runs: Drain[][] = builds.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const b of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const r = await drain(builds[b]!);
      runs[b]!.push(r);
      console.log(`round ${round + 1} ${builds[b]!.label}: ${JSON.stringify(r)}`);
    }
  }
  console.log(`${RECORDS} records in rows of ${GROUP}, ${ROUNDS} rounds`);
  const cols = ['nodeUsPerRecord', 'postgresUsPerRecord', 'bytesPerRecord', 'recordsPerSecond'] as const;
  console.table(
    cols.map((k) => {
      const [a, b] = runs.map((rs) => median(rs.map((r) => r[k])));
      return { measure: k, baseline: a!.toFixed(1), 'this build': b!.toFixed(1), ratio: (b! / a!).toFixed(2) };
    }),
  );
}

runBench(main);
