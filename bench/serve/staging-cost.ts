/**
 * bench/serve/staging-cost.ts — what a group commit costs the serving thread, with the staging
 * thread (src/audit/audit-staging.worker.ts: the INSERT on a worker of its own, the serving thread
 * posts the serialised batch) and without it (the INSERT on the serving thread's pool), in one run:
 *
 *   npm run build --silent && node dist/bench/serve/staging-cost.js
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_BATCHES=3000 BENCH_GROUPS=1,32 BENCH_ROUNDS=5 \
 *     node dist/bench/serve/staging-cost.js
 *
 * A scratch database (machine PostgreSQL) with this build's migrations; AuditStaging itself, made once
 * with its thread and once without (the prediction log on / off in its config; the staging table and
 * statement are the same). Each cell stages BENCH_BATCHES batches of G bench records
 * (audit-fixture.ts) as AuditSink does: JSON.stringify of the batch included, 2 batches in flight.
 * Measured per batch: CPU of this process's main thread (/proc/self/task/<pid>/stat: the serving
 * thread's share, 10 ms ticks), of the whole process (process.cpuUsage: both threads) and of the
 * database's PostgreSQL backends; and batches per second. Modes take turns, rounds alternate the
 * order; medians over BENCH_ROUNDS. CPU time, not wall time: steadier on a shared machine.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { AuditStaging } from '../../src/audit/audit-staging';
import type { AuditRecordBatchPayload } from '../../src/contracts';
import type { KilnConfig } from '../../src/platform/config/kiln-config';
import { dataSourceOptions } from '../../src/platform/database/data-source-options';
import type { MetricsService } from '../../src/platform/metrics/metrics.service';
import { stagedBatchText } from './audit-fixture';
import { cpuSecondsBetween, cpuSnapshot } from './proc-stats';

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BATCHES = Number(process.env.BENCH_BATCHES ?? 3000);
const GROUPS = (process.env.BENCH_GROUPS ?? '1,32').split(',').filter(Boolean).map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const IN_FLIGHT = 2;
const TICK_US = 10_000;

async function admin<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: BASE_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** CPU µs of this process's main thread (its task id is the pid). */
function mainThreadUs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

async function backends(db: DataSource): Promise<number[]> {
  const rows = (await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)) as Array<{ pid: number }>;
  return rows.map((r) => r.pid);
}

interface Cost {
  mainUs: number;
  processUs: number;
  postgresUs: number;
  batchesPerSecond: number;
}

async function cell(staging: AuditStaging, db: DataSource, group: number): Promise<Cost> {
  const payloads = Array.from({ length: 50 }, () => JSON.parse(stagedBatchText(group)) as AuditRecordBatchPayload);
  const pgBefore = cpuSnapshot(await backends(db));
  const main0 = mainThreadUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < BATCHES) await staging.stage(payloads[next++ % payloads.length]!);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const main = mainThreadUs() - main0;
  const pg = cpuSecondsBetween(pgBefore, cpuSnapshot(await backends(db)));
  return {
    mainUs: main / BATCHES,
    processUs: (cpu.user + cpu.system) / BATCHES,
    postgresUs: (pg * 1e6) / BATCHES,
    batchesPerSecond: BATCHES / seconds,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  const name = `kiln_bench_staging_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  const db = await new DataSource(dataSourceOptions(url.toString(), { max: 4 })).initialize();
  const modes = [
    { label: 'INSERT on the serving thread', enabled: false },
    { label: 'staging thread', enabled: true },
  ].map((m) => ({
    ...m,
    staging: new AuditStaging(
      db,
      { registry: new Registry() } as unknown as MetricsService,
      { audit: { enabled: m.enabled } } as KilnConfig,
    ),
  }));
  const load0 = loadavg().map((x) => x.toFixed(2));
  try {
    await db.runMigrations({ transaction: 'each' });
    for (const m of modes) m.staging.onModuleInit();
    while (!modes[1]!.staging.worker) await new Promise((r) => setTimeout(r, 20));
    const runs = new Map<string, Cost[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const group of GROUPS) {
        for (const m of round % 2 ? [...modes].reverse() : modes) {
          const r = await cell(m.staging, db, group);
          const k = `${m.label}|${group}`;
          runs.set(k, [...(runs.get(k) ?? []), r]);
          await db.query(`TRUNCATE audit_staging`);
        }
      }
    }
    console.log(
      `${BATCHES} batches per cell, ${ROUNDS} rounds; load average ${load0.join(' ')} → ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    for (const group of GROUPS) {
      console.log(`\n${group} record(s) per batch (medians, µs of CPU per batch)`);
      const med = modes.map((m) => {
        const rs = runs.get(`${m.label}|${group}`)!;
        const r = {
          mainUs: median(rs.map((x) => x.mainUs)),
          processUs: median(rs.map((x) => x.processUs)),
          postgresUs: median(rs.map((x) => x.postgresUs)),
          batchesPerSecond: median(rs.map((x) => x.batchesPerSecond)),
        };
        console.log(
          `  ${m.label.padEnd(30)} main thread ${r.mainUs.toFixed(0)}, process ${r.processUs.toFixed(0)}, ` +
            `PostgreSQL ${r.postgresUs.toFixed(0)}; ${r.batchesPerSecond.toFixed(0)} batches/s`,
        );
        return r;
      });
      const ratio = (f: (r: (typeof med)[number]) => number) => (f(med[1]!) / f(med[0]!)).toFixed(2);
      console.log(
        `  thread ÷ serving thread: main thread ${ratio((r) => r.mainUs)}×, process ${ratio((r) => r.processUs)}×, ` +
          `batches/s ${ratio((r) => r.batchesPerSecond)}×`,
      );
    }
  } finally {
    for (const m of modes) await m.staging.onModuleDestroy();
    await db.destroy();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
