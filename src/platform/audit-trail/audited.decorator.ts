import { SetMetadata } from '@nestjs/common';

/**
 * Marks a mutating management handler as an admin action for the audit trail. The handler's service
 * writes the event itself with `writeAdminEvent` inside the transaction of its change
 * (admin-event-outbox.ts), so the change and its event commit together or not at all; the audit
 * domain's interceptor relays the outbox to the events chain before the answer is sent.
 *
 * Metadata only (no logic) so every domain can mark handlers without depending on the audit domain.
 */
export interface AuditedOptions {
  /** `<noun>.<past-tense verb>`, e.g. `alias.moved`: the action the handler's service writes. */
  action: string;
}

export const AUDITED = Symbol('kiln:audited');

export const Audited = (action: string) => SetMetadata(AUDITED, { action } satisfies AuditedOptions);
