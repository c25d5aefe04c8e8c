import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ParseVersionPipe } from '../models';
import { Roles } from '../platform/auth';
import { ValidationProblemException } from '../platform/http/validation';
import { InferenceManagementPort } from './inference-management.port';

/**
 * The inference app's management on the management API (`/api/inference`): in one process the local
 * runtime, on a split gateway an inference replica over KILN_TRANSPORT (each answer names the replica).
 */
@ApiTags('inference management')
@Roles('developer')
@Controller('api/inference')
export class InferenceManagementController {
  constructor(private readonly management: InferenceManagementPort) {}

  @Get('repository')
  @ApiOperation({ summary: 'Model repository index: every active registry version with its state in the answering replica' })
  @ApiQuery({ name: 'ready', required: false, enum: ['true', 'false'] })
  index(@Query('ready') ready?: string) {
    if (ready !== undefined && ready !== 'true' && ready !== 'false') {
      throw new ValidationProblemException([{ field: 'ready', reason: 'must be true or false' }]);
    }
    return this.management.repositoryIndex(ready === 'true');
  }

  @Get('models/:name/stats')
  @ApiOperation({ summary: "Statistics of a model's versions in the answering replica (Triton's statistics extension)" })
  stats(@Param('name') name: string) {
    return this.management.statistics(name);
  }

  @Get('models/:name/versions/:version/stats')
  versionStats(@Param('name') name: string, @Param('version', ParseVersionPipe) version: number) {
    return this.management.statistics(name, version);
  }

  @Post('models/:name/load')
  @HttpCode(200)
  @ApiOperation({ summary: 'Load a model in the answering replica' })
  load(@Param('name') name: string) {
    return this.management.load(name);
  }

  @Post('models/:name/unload')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unload a model from the answering replica (409 for versions an alias or deployment routes)' })
  unload(@Param('name') name: string) {
    return this.management.unload(name);
  }
}
