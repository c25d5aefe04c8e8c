import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit log: the id a client sent with a data-plane call (`x-request-id`, OIP `id`) gets its own
 * column. `request_id` is the server's id, unique per call; the client's id is kept, searchable
 * (`GET /api/audit/predictions?clientRequestId=`), and may repeat.
 */
export class AuditClientRequestId1764700000000 implements MigrationInterface {
  name = 'AuditClientRequestId1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_predictions ADD COLUMN client_request_id varchar(200) NULL`);
    await q.query(`CREATE INDEX audit_predictions_client_request_id ON audit_predictions (client_request_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS audit_predictions_client_request_id`);
    await q.query(`ALTER TABLE audit_predictions DROP COLUMN client_request_id`);
  }
}
