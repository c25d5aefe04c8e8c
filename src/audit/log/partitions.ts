/**
 * Daily RANGE partitions of `audit_predictions` on `logged_at` (UTC days), named
 * `audit_predictions_pYYYYMMDD`. The writer creates the partition of the day it writes into; the
 * retention service drops whole partitions. Names are the source of truth for a partition's day.
 */
import type { EntityManager } from 'typeorm';

const DAY_MS = 86_400_000;
const PARENT = 'audit_predictions';
const NAME = /^audit_predictions_p(\d{4})(\d{2})(\d{2})$/;

export interface DailyPartition {
  name: string;
  /** Inclusive lower bound (00:00 UTC of the day). */
  from: Date;
  /** Exclusive upper bound (00:00 UTC of the next day). */
  to: Date;
}

export function partitionFor(at: Date): DailyPartition {
  const from = new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
  const day = from.toISOString().slice(0, 10).replaceAll('-', '');
  return { name: `${PARENT}_p${day}`, from, to: new Date(from.getTime() + DAY_MS) };
}

/** The partition a name denotes, or null for a name that is not one of ours. */
export function parsePartitionName(name: string): DailyPartition | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const p = partitionFor(from);
  return p.name === name ? p : null;
}

/** Creates the day's partition when missing. Callers serialise on the predictions chain head. */
export async function ensurePartition(m: EntityManager, p: DailyPartition): Promise<void> {
  const [{ exists }] = (await m.query(`SELECT to_regclass($1) IS NOT NULL AS exists`, [p.name])) as Array<{ exists: boolean }>;
  if (exists) return;
  await m.query(
    `CREATE TABLE IF NOT EXISTS ${p.name} PARTITION OF ${PARENT} FOR VALUES FROM ('${p.from.toISOString()}') TO ('${p.to.toISOString()}')`,
  );
}

/** Our daily partitions, oldest first. */
export async function listPartitions(m: EntityManager): Promise<DailyPartition[]> {
  const rows = (await m.query(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
    [PARENT],
  )) as Array<{ name: string }>;
  return rows
    .map((r) => parsePartitionName(r.name))
    .filter((p): p is DailyPartition => p !== null)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}
