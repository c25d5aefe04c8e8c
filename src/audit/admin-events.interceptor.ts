import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, mergeMap, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../platform/auth';
import { AUDITED, type AuditBefore, type AuditedOptions } from '../platform/audit-trail/audited.decorator';
import { AdminEventRelay } from './admin-event-relay';
import { AuditSink } from './audit-sink';
import { bounded, redact } from './admin-event-values';
import { toJsonSafe } from './chain';

type AuditableRequest = AuthenticatedRequest & AuditBefore;

/**
 * Admin audit trail: every successful call of a handler marked `@Audited(action)` leaves an event
 * (actor key id, action, target, before/after, time, request id) in the audit log's hash chain. The
 * response is sent only once the event is durable in the queue backend; a failed call leaves none.
 *
 * Handlers marked `{ outbox: true }` write their event themselves, in the transaction of their
 * change (platform/audit-trail/admin-event-outbox.ts): here the outbox is only relayed before the
 * answer. The event is durable from the commit on, so a relay failure does not fail the call
 * (the relay's timer retries it).
 */
@Injectable()
export class AdminEventsInterceptor implements NestInterceptor {
  private readonly logger = new Logger('AdminEvents');

  constructor(
    private readonly reflector: Reflector,
    private readonly sink: AuditSink,
    private readonly relay: AdminEventRelay,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const spec = context.getType() === 'http' ? this.reflector.get<AuditedOptions | undefined>(AUDITED, context.getHandler()) : undefined;
    if (!spec) return next.handle();
    const req = context.switchToHttp().getRequest<AuditableRequest>();
    if (spec.outbox) {
      const relayed = (body: unknown) =>
        this.relay.flush().then(
          () => body,
          (err: unknown) => {
            this.logger.warn({ err, requestId: req.id }, 'admin event committed to the outbox; relay deferred');
            return body;
          },
        );
      return next.handle().pipe(mergeMap((body) => from(relayed(body))));
    }
    return next.handle().pipe(
      mergeMap((body) =>
        from(
          this.sink
            .recordEvent({
              requestId: req.id,
              actorKeyId: req.principal?.keyId ?? null,
              action: spec.action,
              target: toJsonSafe({
                ...(req.params as Record<string, string>),
                ...(spec.target?.(body, req.body) ?? {}),
              }) as Record<string, unknown>,
              before: bounded(req.auditBefore ?? null),
              after: bounded(redact(body ?? null, spec.redact ?? [])),
            })
            .then(() => body),
        ),
      ),
    );
  }
}
