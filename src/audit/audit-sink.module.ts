import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AdminEventRelay } from './admin-event-relay';
import { AdminEventsInterceptor } from './admin-events.interceptor';
import { AuditSink } from './audit-sink';
import { AuditStaging } from './audit-staging';

/**
 * In every process (all roles produce audit records): `AuditSink` and its durable intake `AuditStaging`, and the
 * admin-event interceptor for handlers marked `@Audited`, and the relay of the admin-event outbox.
 */
@Global()
@Module({
  providers: [AuditStaging, AuditSink, AdminEventRelay, { provide: APP_INTERCEPTOR, useClass: AdminEventsInterceptor }],
  exports: [AuditStaging, AuditSink, AdminEventRelay],
})
export class AuditSinkModule {}
