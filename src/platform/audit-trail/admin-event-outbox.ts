import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { AdminEventRecord } from '../../contracts';

/**
 * Transactional outbox for admin events (table `admin_event_outbox`).
 *
 * A management mutation calls `writeAdminEvent` with the EntityManager of the transaction that
 * makes the change, so the change and its event commit together or not at all: a failure anywhere
 * in the transaction (including the event itself) leaves neither. The audit domain's relay
 * (`src/audit/admin-event-relay.ts`) then hands each row to the audit log, idempotently by event
 * id, and deletes it; a process killed in between loses nothing (the row stays and is relayed later).
 * Handlers that write their event this way are marked `@Audited(action)`.
 */

/** Who made a change: the calling key (and its request), or Kiln itself. */
export interface AdminActor {
  requestId: string;
  /** The caller's public key id, or a `system:<what>` name for changes Kiln makes by itself. */
  actorKeyId: string | null;
}

/** `production` moved by a training job's `promote` option. */
export const SYSTEM_PROMOTION = 'system:promotion';
/** `production` moved by a retrain that a drift report started. */
export const SYSTEM_DRIFT_RETRAIN = 'system:drift-retrain';

/** `createdBy` of the training jobs a drift report starts (src/audit/drift/drift-retrain.ts). */
export const DRIFT_RETRAIN_CREATED_BY = 'drift-monitor';

/** The actor of a promotion applied when training job `jobId` (created by `createdBy`) registers its version. */
export function promotionActor(jobId: string, createdBy: string | null): AdminActor {
  const actorKeyId = createdBy === DRIFT_RETRAIN_CREATED_BY ? SYSTEM_DRIFT_RETRAIN : SYSTEM_PROMOTION;
  return { requestId: `training-job:${jobId}`, actorKeyId };
}

/** The actor of an HTTP call: its request id and the key that made it. */
export function actorOf(req: { id: string; principal?: { keyId: string } }): AdminActor {
  return { requestId: req.id, actorKeyId: req.principal?.keyId ?? null };
}

export interface AdminEventChange {
  /** `<noun>.<past-tense verb>`, e.g. `alias.moved`. */
  action: string;
  target: Record<string, unknown>;
  before: unknown;
  after: unknown;
}

/** Adds the event to the outbox inside `m`'s transaction; returns its event id. */
export async function writeAdminEvent(m: EntityManager, actor: AdminActor, change: AdminEventChange): Promise<string> {
  const record: AdminEventRecord = {
    eventId: randomUUID(),
    at: new Date().toISOString(),
    requestId: actor.requestId,
    actorKeyId: actor.actorKeyId,
    ...change,
  };
  // JSON.stringify escapes lone surrogates and control characters: any JS string fits a text column.
  await m.query(`INSERT INTO admin_event_outbox (event_id, record) VALUES ($1, $2)`, [record.eventId, JSON.stringify(record)]);
  return record.eventId;
}

/**
 * Withdraws an event still in the outbox (its change was undone after the commit, e.g. the job could
 * not be queued). An event the relay has already moved to the audit log stays there.
 */
export async function discardAdminEvent(m: Pick<EntityManager, 'query'>, eventId: string): Promise<void> {
  await m.query(`DELETE FROM admin_event_outbox WHERE event_id = $1`, [eventId]);
}
