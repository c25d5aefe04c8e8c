import { SetMetadata } from '@nestjs/common';

/**
 * Marks a mutating management handler as an admin action for the audit trail. The audit domain's
 * interceptor writes an event for every successful call of a marked handler (actor key, action,
 * target = route params, after = the response, before = what the handler put on
 * `request.auditBefore`) and answers only once the event is durable.
 *
 * Metadata only (no logic) so every domain can mark handlers without depending on the audit domain.
 */
export interface AuditedOptions {
  /** `<noun>.<past-tense verb>`, e.g. `alias.moved`. */
  action: string;
  /** Response members never written to the log (secrets such as a new API key). */
  redact?: string[];
  /**
   * The handler writes its own event with `writeAdminEvent` inside the transaction of its change
   * (admin-event-outbox.ts), so the change and the event commit together; the interceptor then only
   * relays the outbox before answering.
   */
  outbox?: boolean;
  /**
   * What was acted on, from the response (and the request body), for handlers whose route has no
   * parameters naming it (a create): merged over the route params.
   */
  target?: (response: any, body: any) => Record<string, unknown>;
}

export const AUDITED = Symbol('kiln:audited');

export const Audited = (action: string, options: Omit<AuditedOptions, 'action'> = {}) => SetMetadata(AUDITED, { action, ...options } satisfies AuditedOptions);

/** A handler may put the state it is about to change here; it becomes the event's `before`. */
export interface AuditBefore {
  auditBefore?: unknown;
}
