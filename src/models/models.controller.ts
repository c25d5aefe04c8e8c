import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Put, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedRequest } from '../platform/auth';
import { Roles } from '../platform/auth';
import { ModelRegistry, ALIAS_PATTERN } from './model-registry.service';
import { aliasHistoryDto, modelDto, modelVersionDto, SetAliasDto, type ModelDto } from './models.dto';

function checkAlias(alias: string): string {
  if (!ALIAS_PATTERN.test(alias)) throw new BadRequestException(`alias: '${alias.slice(0, 80)}' must be 1–64 letters, digits, '.', '_' or '-'`);
  return alias;
}

/** Model registry: reads for any role, writes for `developer` (and admin). */
@ApiTags('models')
@Controller('api/models')
export class ModelsController {
  constructor(private readonly registry: ModelRegistry) {}

  @Get()
  @ApiOperation({ summary: 'List registered models' })
  async list(): Promise<ModelDto[]> {
    const models = await this.registry.list();
    return Promise.all(models.map(async (m) => modelDto(m, await this.registry.aliasesOf(m.id))));
  }

  @Get(':name')
  async get(@Param('name') name: string): Promise<ModelDto> {
    const m = await this.registry.getModel(name);
    return modelDto(m, await this.registry.aliasesOf(m.id));
  }

  @Get(':name/versions')
  @ApiOperation({ summary: 'Versions of a model, newest first' })
  async versions(@Param('name') name: string) {
    const m = await this.registry.getModel(name);
    const aliases = await this.registry.aliasesOf(m.id);
    return (await this.registry.listVersions(m.id)).map((v) => modelVersionDto(m, v, aliases));
  }

  @Get(':name/versions/:version')
  @ApiOperation({ summary: 'One version: signature, preprocessing, metrics, lineage' })
  async version(@Param('name') name: string, @Param('version', new ParseIntPipe()) version: number) {
    const { model, version: v } = await this.registry.getVersion(name, version);
    return modelVersionDto(model, v, await this.registry.aliasesOf(model.id));
  }

  @Put(':name/aliases/:alias')
  @Roles('developer')
  @ApiOperation({ summary: 'Point an alias at a version (atomic; recorded in the alias history)' })
  async setAlias(@Param('name') name: string, @Param('alias') alias: string, @Body() body: SetAliasDto, @Req() req: AuthenticatedRequest) {
    const change = await this.registry.setAlias(name, checkAlias(alias), body.version, req.principal?.name ?? null);
    return { model: name, ...change, version: change.to };
  }

  @Delete(':name/aliases/:alias')
  @Roles('developer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Remove an alias (recorded in the alias history)' })
  async deleteAlias(@Param('name') name: string, @Param('alias') alias: string, @Req() req: AuthenticatedRequest) {
    const change = await this.registry.deleteAlias(name, checkAlias(alias), req.principal?.name ?? null);
    return { model: name, ...change };
  }

  @Get(':name/aliases/:alias/history')
  @ApiOperation({ summary: 'Who moved the alias, when, from which version to which' })
  async aliasHistory(@Param('name') name: string, @Param('alias') alias: string) {
    return (await this.registry.aliasHistory(name, checkAlias(alias))).map((h) => aliasHistoryDto(name, h));
  }
}
