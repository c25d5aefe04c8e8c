import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { Roles } from '../../platform/auth';
import { EventsQueryDto, PageDto } from './audit-log.dto';
import { AuditPort } from '../audit.port';

const auditPage = (items: string) => objectSchema({ items: S.array(S.object(items)), nextCursor: S.nullable(S.string) });

/** The admin audit trail for auditors: keyset pages by seq, filtered by action and time. */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/events')
export class AuditEventsController {
  constructor(private readonly audit: AuditPort) {}

  @Get()
  @ApiOperation({ summary: 'Admin events (who did what to which target, before/after), paginated by cursor' })
  @ApiResponse({
    status: 200,
    schema: auditPage('admin events: {seq, eventId, at, loggedAt, requestId, actorKeyId, action, target, before, after, prevHash, hash}'),
  })
  async list(@Query() q: EventsQueryDto): Promise<PageDto> {
    return this.audit.listEvents(q);
  }
}
