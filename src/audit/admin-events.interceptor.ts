import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, mergeMap, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../platform/auth';
import { AUDITED, type AuditedOptions } from '../platform/audit-trail/audited.decorator';
import { AdminEventRelay } from './admin-event-relay';

/**
 * Admin audit trail: a handler marked `@Audited(action)` writes its event (actor key id, action,
 * target, before/after, request id) in the transaction of its change
 * (platform/audit-trail/admin-event-outbox.ts); a failed call commits none. Here the outbox is
 * relayed to the audit log's hash chain before the answer. The event is durable from the commit on,
 * so a relay failure does not fail the call (the relay's timer retries it).
 */
@Injectable()
export class AdminEventsInterceptor implements NestInterceptor {
  private readonly logger = new Logger('AdminEvents');

  constructor(
    private readonly reflector: Reflector,
    private readonly relay: AdminEventRelay,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const audited = context.getType() === 'http' && this.reflector.get<AuditedOptions | undefined>(AUDITED, context.getHandler());
    if (!audited) return next.handle();
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
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
}
