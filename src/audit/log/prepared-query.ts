import type { PoolClient } from 'pg';
import type { EntityManager } from 'typeorm';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';

/**
 * `text` as a named prepared statement of the transaction's connection: parsed once per connection
 * and, once PostgreSQL settles on a generic plan, not planned again. For the statements the audit
 * chainer runs on every pass (and every idle poll): planning them cost PostgreSQL more than running
 * them (pg_stat_statements, docs/performance.md). Each `name` must always go with the same `text`.
 * A manager without a query runner of its own (no transaction) runs it as a plain query.
 */
export async function preparedQuery<T>(m: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  const runner = m.queryRunner as PostgresQueryRunner | undefined;
  if (!runner) return (await m.query(text, values)) as T[];
  const client = (await runner.connect()) as PoolClient;
  return (await client.query({ name, text, values })).rows as T[];
}
