import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One index fewer on every logged prediction (issue 14: four index insertions per record, one WAL
 * record each). The primary key was (logged_at, seq) and a second index (seq) served every read by
 * position: the chain's pages, record lookups, the verifier's ranges and the committed-rows filter
 * (`seq BETWEEN 1 AND head`). A primary key (seq, logged_at) serves those reads itself and is as unique
 * (it must contain the partition key), so the `seq` index goes.
 *
 * What the old key's leading `logged_at` served moves elsewhere: the writer's "newest logged_at" (read
 * every chainer pass, to keep logged_at from going backwards) is now kept on the chain head, moved in
 * the same statement as the head's seq and hash (this migration seeds it from each chain's newest row);
 * the verifier's time bounds (`from` / `to` as times, an operator's call) look up the seq by seq order
 * within the partitions the time selects, which equals time order along a chain.
 *
 * On an existing database the key is rebuilt on every partition (one pass over each, under a lock
 * that holds back log writes until done).
 */
export class AuditPredictionsSeqKey1765300000000 implements MigrationInterface {
  name = 'AuditPredictionsSeqKey1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_chain_heads ADD COLUMN logged_at timestamptz NULL`);
    // while the old key still orders by logged_at
    await q.query(`UPDATE audit_chain_heads SET logged_at = (SELECT max(logged_at) FROM audit_predictions) WHERE chain = 'predictions'`);
    await q.query(`UPDATE audit_chain_heads SET logged_at = (SELECT max(logged_at) FROM audit_events) WHERE chain = 'events'`);
    await q.query(`ALTER TABLE audit_predictions DROP CONSTRAINT audit_predictions_pkey`);
    await q.query(`ALTER TABLE audit_predictions ADD CONSTRAINT audit_predictions_pkey PRIMARY KEY (seq, logged_at)`);
    await q.query(`DROP INDEX IF EXISTS audit_predictions_seq`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX audit_predictions_seq ON audit_predictions (seq)`);
    await q.query(`ALTER TABLE audit_predictions DROP CONSTRAINT audit_predictions_pkey`);
    await q.query(`ALTER TABLE audit_predictions ADD CONSTRAINT audit_predictions_pkey PRIMARY KEY (logged_at, seq)`);
    await q.query(`ALTER TABLE audit_chain_heads DROP COLUMN logged_at`);
  }
}
