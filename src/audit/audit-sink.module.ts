import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AdminEventRelay } from './admin-event-relay';
import { AdminEventsInterceptor } from './admin-events.interceptor';
import { AuditSink } from './audit-sink';

/**
 * In every process (all roles produce audit records; the queues are global): `AuditSink`, and the
 * admin-event interceptor for handlers marked `@Audited`, and the relay of the admin-event outbox.
 */
@Global()
@Module({
  providers: [AuditSink, AdminEventRelay, { provide: APP_INTERCEPTOR, useClass: AdminEventsInterceptor }],
  exports: [AuditSink, AdminEventRelay],
})
export class AuditSinkModule {}
