/**
 * The one path by which the audit domain reads the prediction log: only the rows the writer
 * committed, seq 1 … the chain head (the writer moves the head in the same transaction as its
 * inserts). A row put into `audit_predictions` any other way (seq 0, beyond the head) is never a
 * record: not for the record lookup and listings, not for feedback, live monitoring or drift;
 * `/api/audit/verify` reports it.
 *
 * Use it in place of the table: `FROM ${COMMITTED_PREDICTIONS} p`. PostgreSQL pulls the subquery up
 * into the outer query (the head is read once), so the outer conditions still prune partitions and
 * use the indexes as on the bare table.
 */
export const COMMITTED_PREDICTIONS =
  `(SELECT * FROM audit_predictions ` +
  `WHERE seq BETWEEN 1 AND COALESCE((SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'), 0))`;
