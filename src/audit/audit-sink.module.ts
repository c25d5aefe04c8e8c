import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AdminEventsInterceptor } from './admin-events.interceptor';
import { AuditSink } from './audit-sink';

/**
 * In every process (all roles produce audit records; the queues are global): `AuditSink`, and the
 * admin-event interceptor for handlers marked `@Audited`.
 */
@Global()
@Module({ providers: [AuditSink, { provide: APP_INTERCEPTOR, useClass: AdminEventsInterceptor }], exports: [AuditSink] })
export class AuditSinkModule {}
