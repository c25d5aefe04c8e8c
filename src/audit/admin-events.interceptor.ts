import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import { from, mergeMap, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../platform/auth';
import { AUDITED, type AuditBefore, type AuditedOptions } from '../platform/audit-trail/audited.decorator';
import { AuditSink } from './audit-sink';
import { canonicalJson, toJsonSafe } from './chain';

/** A response larger than this is logged as its size and hash, not in full. */
const MAX_LOGGED_BYTES = 64 * 1024;

type AuditableRequest = AuthenticatedRequest & AuditBefore;

/**
 * Admin audit trail: every successful call of a handler marked `@Audited(action)` leaves an event
 * (actor key id, action, target, before/after, time, request id) in the audit log's hash chain. The
 * response is sent only once the event is durable in the queue backend; a failed call leaves none.
 */
@Injectable()
export class AdminEventsInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly sink: AuditSink,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const spec = context.getType() === 'http' ? this.reflector.get<AuditedOptions | undefined>(AUDITED, context.getHandler()) : undefined;
    if (!spec) return next.handle();
    const req = context.switchToHttp().getRequest<AuditableRequest>();
    return next.handle().pipe(
      mergeMap((body) =>
        from(
          this.sink
            .recordEvent({
              requestId: req.id,
              actorKeyId: req.principal?.keyId ?? null,
              action: spec.action,
              target: toJsonSafe({ ...(req.params as Record<string, string>) }) as Record<string, unknown>,
              before: bounded(req.auditBefore ?? null),
              after: bounded(redact(body ?? null, spec.redact ?? [])),
            })
            .then(() => body),
        ),
      ),
    );
  }
}

function redact(body: unknown, fields: string[]): unknown {
  if (fields.length === 0 || body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const copy = { ...(body as Record<string, unknown>) };
  for (const f of fields) if (f in copy) copy[f] = '[redacted]';
  return copy;
}

function bounded(value: unknown): unknown {
  const safe = toJsonSafe(value);
  const json = canonicalJson(safe);
  if (json.length <= MAX_LOGGED_BYTES) return safe;
  return { truncated: true, bytes: json.length, sha256: createHash('sha256').update(json).digest('hex') };
}
