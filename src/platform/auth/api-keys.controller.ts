import { actorOf } from '../audit-trail/admin-event-outbox';
import { Audited } from '../audit-trail/audited.decorator';
import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedRequest } from './api-key.guard';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';
import { Roles } from './api-roles';

@ApiTags('api keys')
@Roles('admin')
@Controller('api/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @Audited('key.created')
  @ApiOperation({ summary: 'Create an API key (the key is returned once)' })
  @ApiResponse({ status: 201, type: CreatedApiKeyDto })
  async create(@Body() body: CreateApiKeyDto, @Req() req: AuthenticatedRequest): Promise<CreatedApiKeyDto> {
    const created = await this.keys.create(body.name, body.role, req.principal?.id ?? null, actorOf(req));
    return { ...ApiKeyDto.from(created.apiKey), key: created.key };
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (never the keys themselves)' })
  @ApiResponse({ status: 200, type: [ApiKeyDto] })
  async list(): Promise<ApiKeyDto[]> {
    return (await this.keys.list()).map(ApiKeyDto.from);
  }

  @Get(':id')
  @ApiResponse({ status: 200, type: ApiKeyDto })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<ApiKeyDto> {
    const key = await this.keys.get(id);
    if (!key) throw new NotFoundException(`API key ${id} not found`);
    return ApiKeyDto.from(key);
  }

  @Delete(':id')
  @Audited('key.revoked')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key' })
  @ApiResponse({ status: 200, type: ApiKeyDto })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthenticatedRequest): Promise<ApiKeyDto> {
    const key = await this.keys.revoke(id, actorOf(req));
    if (!key) throw new NotFoundException(`API key ${id} not found`);
    return ApiKeyDto.from(key);
  }
}
