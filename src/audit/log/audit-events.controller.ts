import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../platform/auth';
import { EventsQueryDto, PageDto } from './audit-log.dto';
import { AuditPort } from '../audit.port';

/** The admin audit trail for auditors: keyset pages by seq, filtered by action and time. */
@ApiTags('audit')
@Roles('auditor')
@Controller('api/audit/events')
export class AuditEventsController {
  constructor(private readonly audit: AuditPort) {}

  @Get()
  @ApiOperation({ summary: 'Admin events (who did what to which target, before/after), paginated by cursor' })
  async list(@Query() q: EventsQueryDto): Promise<PageDto> {
    return this.audit.listEvents(q);
  }
}
