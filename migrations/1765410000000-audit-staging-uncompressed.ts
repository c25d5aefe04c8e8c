import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `audit_staging.batch` is stored without compression (STORAGE EXTERNAL: out of line when large, never
 * compressed). A staged row lives from one group commit until the chainer moves its records into the
 * log (seconds), so compressing it buys no disk and costs the commit a client waits for: PostgreSQL's
 * default pglz compresses ~5–20 MB/s on this machine, and a call with a 16 MB FP32 tensor stages ~160 MB
 * of JSON (inputs and outputs). Measured on an 80 MB batch: INSERT 14–21 s compressed, 4–5.5 s not
 * (bench/serve/large-tensors.ts, docs/performance.md). Applies to rows written from now on; rows
 * already staged read as before.
 */
export class AuditStagingUncompressed1765410000000 implements MigrationInterface {
  name = 'AuditStagingUncompressed1765410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_staging ALTER COLUMN batch SET STORAGE EXTERNAL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_staging ALTER COLUMN batch SET STORAGE EXTENDED`);
  }
}
