import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ParseVersionPipe } from '../models';
import { Roles } from '../platform/auth';
import { objectSchema, S, type SchemaObject } from '../platform/http/openapi';
import { ValidationProblemException } from '../platform/http/validation';
import { InferenceManagementPort } from './inference-management.port';

/**
 * The inference app's management on the management API (`/api/inference`): in one process the local
 * runtime, on a split gateway an inference replica over KILN_TRANSPORT (each answer names the replica).
 */
/** Every answer: `{replica, result}`, the replica being `hostname:pid` of the inference process that answered. */
const replicaAnswer = (result: SchemaObject) => ({ schema: objectSchema({ replica: S.string, result }) });
const repositoryIndex = S.array(S.object('{name, version, state, reason}: Triton repository index entry'));
const statistics = S.object("Triton's statistics extension: {model_stats: [...]}");
const versions = objectSchema({ versions: S.array(S.integer) });

@ApiTags('inference management')
@Roles('developer')
@Controller('api/inference')
export class InferenceManagementController {
  constructor(private readonly management: InferenceManagementPort) {}

  @Get('repository')
  @ApiOperation({ summary: 'Model repository index: every active registry version with its state in the answering replica' })
  @ApiQuery({ name: 'ready', required: false, enum: ['true', 'false'] })
  @ApiOkResponse(replicaAnswer(repositoryIndex))
  index(@Query('ready') ready?: string) {
    if (ready !== undefined && ready !== 'true' && ready !== 'false') {
      throw new ValidationProblemException([{ field: 'ready', reason: 'must be true or false' }]);
    }
    return this.management.repositoryIndex(ready === 'true');
  }

  @Get('models/:name/stats')
  @ApiOperation({ summary: "Statistics of a model's versions in the answering replica (Triton's statistics extension)" })
  @ApiOkResponse(replicaAnswer(statistics))
  stats(@Param('name') name: string) {
    return this.management.statistics(name);
  }

  @Get('models/:name/versions/:version/stats')
  @ApiOperation({ summary: "Statistics of one version in the answering replica (Triton's statistics extension)" })
  @ApiOkResponse(replicaAnswer(statistics))
  versionStats(@Param('name') name: string, @Param('version', ParseVersionPipe) version: number) {
    return this.management.statistics(name, version);
  }

  @Post('models/:name/load')
  @HttpCode(200)
  @ApiOperation({ summary: 'Load a model in the answering replica' })
  @ApiOkResponse(replicaAnswer(versions))
  load(@Param('name') name: string) {
    return this.management.load(name);
  }

  @Post('models/:name/unload')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unload a model from the answering replica (409 for versions an alias or deployment routes)' })
  @ApiOkResponse(replicaAnswer(versions))
  unload(@Param('name') name: string) {
    return this.management.unload(name);
  }
}
