import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The client's own request id is indexed only where a call sent one: most calls send none, and a full
 * index took one of the six WAL records (and index insertions) every logged prediction cost
 * (pg_stat_statements, docs/performance.md). Lookups by client id (`client_request_id = …` / `= ANY(…)`)
 * imply NOT NULL, so they use the partial index as they used the full one. Rebuilt on every partition
 * of the log (one pass over its rows, under a lock that holds back writes until done).
 */
export class AuditClientRequestIdPartial1765000000000 implements MigrationInterface {
  name = 'AuditClientRequestIdPartial1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS audit_predictions_client_request_id`);
    await q.query(
      `CREATE INDEX audit_predictions_client_request_id ON audit_predictions (client_request_id) WHERE client_request_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS audit_predictions_client_request_id`);
    await q.query(`CREATE INDEX audit_predictions_client_request_id ON audit_predictions (client_request_id)`);
  }
}
