import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedRequest } from './api-key.guard';
import { CreateStreamTokenDto, SessionDto, StreamTokenDto } from './session.dto';
import { StreamTokensService } from './stream-tokens.service';

/** What a browser session (the web console) needs besides the API itself: who the key is, and stream tokens. */
@ApiTags('api keys')
@Controller('api')
export class SessionController {
  constructor(private readonly tokens: StreamTokensService) {}

  @Get('session')
  @ApiOperation({ summary: 'The caller: the key name and its role (any valid key)' })
  @ApiOkResponse({ type: SessionDto })
  session(@Req() req: AuthenticatedRequest): SessionDto {
    const p = req.principal!;
    return { keyId: p.keyId, name: p.name, role: p.role };
  }

  @Post('stream-tokens')
  @HttpCode(201)
  @ApiOperation({
    summary:
      'A short-lived token (60 s) that opens one event stream as `?token=` (browser EventSource cannot send Authorization); ' +
      "bound to the key and the path, accepted only on event-stream routes, where the key's role still applies",
  })
  @ApiCreatedResponse({ type: StreamTokenDto })
  async create(@Body() body: CreateStreamTokenDto, @Req() req: AuthenticatedRequest): Promise<StreamTokenDto> {
    return this.tokens.issue(req.principal!, body.path);
  }
}
