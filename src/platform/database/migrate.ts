import type { DataSource, Migration } from 'typeorm';

/** Arbitrary constant: the PostgreSQL advisory lock that serialises migrations across replicas. */
export const MIGRATION_LOCK_KEY = 4_118_273_001;

/**
 * Applies pending migrations while holding a session-level advisory lock, so several replicas
 * starting at once apply each migration exactly once (the others wait, then find nothing pending).
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
