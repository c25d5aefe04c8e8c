/**
 * Reading an answered call's prediction record in e2e tests. The record is durable before the answer,
 * and `GET /api/audit/predictions/{requestId}` finds it at once, chained or not (not chained yet:
 * `seq` and the hashes null, `chained: false`): `auditRecord` reads it once, no wait. The listing, the
 * export and verify see only chained records: a test that reads those afterwards about this call waits
 * with `chainedAuditRecord` for the chainer to have moved it into the log.
 */
import assert from 'node:assert/strict';
import { eventually, type KilnClient } from './test-kiln';

const lookup = (kiln: KilnClient, requestId: string, key?: string) =>
  kiln.request('GET', `/api/audit/predictions/${encodeURIComponent(requestId)}`, key === undefined ? {} : { key });

/** The record of an answered call, as the lookup gives it right after the answer (chained or not). */
export async function auditRecord(kiln: KilnClient, requestId: string, key?: string): Promise<any> {
  const r = await lookup(kiln, requestId, key);
  assert.equal(r.status, 200, `audit record of ${requestId}: ${r.text}`);
  return r.body;
}

/** The record of an answered call once it is in the hash-chained log (its seq set). */
export function chainedAuditRecord(kiln: KilnClient, requestId: string, key?: string): Promise<any> {
  return eventually(async () => {
    const r = await lookup(kiln, requestId, key);
    return r.status === 200 && r.body.seq !== null ? r.body : undefined;
  });
}
