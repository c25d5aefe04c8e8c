import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log's durable intake (issue 14): every process's AuditSink appends each group commit as
 * ONE row here (one INSERT, one commit) and answers its callers once it is committed; the audit
 * worker's chainer (src/audit/log/audit-chainer.service.ts) claims rows in id order, appends their
 * records to the hash chains and deletes them in the same transaction. Append-only for producers.
 * `batch` is the AuditRecordBatchPayload as JSON text (JSON.stringify escapes every lone surrogate
 * and control character, so any JS string fits a text column; the writer applies the log's own
 * encoding later). A row whose records the writer refuses (a contract violation, not a transient
 * error) is kept with `refused_at` / `refused` set, out of the chainer's way, for an operator to see.
 */
export class AuditStaging1764900000000 implements MigrationInterface {
  name = 'AuditStaging1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_staging (
        id bigserial PRIMARY KEY,
        staged_at timestamptz NOT NULL DEFAULT now(),
        records integer NOT NULL,
        batch text NOT NULL,
        refused_at timestamptz,
        refused text
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_staging`);
  }
}
