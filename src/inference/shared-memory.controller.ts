/**
 * Triton's shared memory extensions on /v2 (`system_shared_memory` is listed in `GET /v2` `extensions`):
 * register, unregister and status of system (POSIX) shared memory regions of this process, which
 * inference inputs and outputs may then name (protocols/shared-memory-tensors.ts). CUDA shared memory
 * answers as a server without GPUs would. Registering and unregistering is model management
 * (developer), and each answered register or unregister call that changes something is one admin
 * event (shared-memory-admin.ts); the status is readable by whoever may infer. Errors are `{"error": "..."}` as on all of /v2.
 */
import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../platform/http/openapi';
import { Roles, type AuthenticatedRequest } from '../platform/auth';
import { actorOf } from '../platform/audit-trail/admin-event-outbox';
import { Audited } from '../platform/audit-trail/audited.decorator';
import { InferenceService } from './inference.service';
import { SharedMemoryAdmin } from './shared-memory-admin';
import { isPlainObject } from './protocols/tensor-values';
import { cudaSharedMemory } from './runtime/system-shared-memory';

const REGION_STATUS = S.array(objectSchema({ name: S.string, key: S.string, offset: S.integer, byte_size: S.integer }));
const REGISTER_BODY = {
  type: 'object',
  required: ['key', 'byte_size'],
  properties: {
    key: { type: 'string', description: 'the POSIX shared memory object, e.g. /input_data (= /dev/shm/input_data)' },
    offset: { type: 'integer', description: 'where the region starts in the object (bytes, default 0)' },
    byte_size: { type: 'integer' },
  },
};

function field(body: unknown, name: string): unknown {
  return isPlainObject(body) ? body[name] : undefined;
}

@ApiTags('serving: Open Inference Protocol v2')
@Controller('v2')
export class SharedMemoryController {
  constructor(
    private readonly inference: InferenceService,
    private readonly admin: SharedMemoryAdmin,
  ) {}

  @Get('systemsharedmemory/status')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'System shared memory regions registered with this process' })
  @ApiResponse({ status: 200, schema: REGION_STATUS })
  systemStatus() {
    return this.inference.sharedMemory.status();
  }

  @Get('systemsharedmemory/region/:region/status')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'One system shared memory region (404 when not registered)' })
  @ApiResponse({ status: 200, schema: REGION_STATUS })
  systemRegionStatus(@Param('region') region: string) {
    return this.inference.sharedMemory.status(region);
  }

  @Post('systemsharedmemory/region/:region/register')
  @HttpCode(200)
  @Roles('developer')
  @Audited('shared-memory.registered')
  @ApiOperation({
    summary: 'Register a system shared memory region',
    description:
      '`key` names a POSIX shared memory object (a plain name under /dev/shm, one leading / allowed); the region is `byte_size` ' +
      'bytes from `offset`, inside the object. Inputs and outputs of inference calls to this process may then name it. ' +
      '400 for a name already registered, a key that is not a shared memory object, or a range past its end.',
  })
  @ApiBody({ schema: REGISTER_BODY })
  @ApiResponse({ status: 200, schema: S.object('empty on success') })
  async register(@Param('region') region: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    await this.admin.register(region, field(body, 'key'), field(body, 'offset'), field(body, 'byte_size'), actorOf(req));
    return {};
  }

  @Post('systemsharedmemory/unregister')
  @HttpCode(200)
  @Roles('developer')
  @Audited('shared-memory.unregistered')
  @ApiOperation({ summary: 'Unregister every system shared memory region (in-flight calls finish with theirs)' })
  @ApiResponse({ status: 200, schema: S.object('empty on success') })
  async unregisterAll(@Req() req: AuthenticatedRequest) {
    await this.admin.unregister(undefined, actorOf(req));
    return {};
  }

  @Post('systemsharedmemory/region/:region/unregister')
  @HttpCode(200)
  @Roles('developer')
  @Audited('shared-memory.unregistered')
  @ApiOperation({ summary: 'Unregister one system shared memory region (an unknown name is no error, as in Triton)' })
  @ApiResponse({ status: 200, schema: S.object('empty on success') })
  async unregister(@Param('region') region: string, @Req() req: AuthenticatedRequest) {
    await this.admin.unregister(region, actorOf(req));
    return {};
  }

  @Get('cudasharedmemory/status')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'CUDA shared memory regions: always none (Kiln serves without a GPU)' })
  @ApiResponse({ status: 200, schema: REGION_STATUS })
  cudaStatus() {
    return cudaSharedMemory.status();
  }

  @Get('cudasharedmemory/region/:region/status')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'One CUDA shared memory region: always 404' })
  @ApiResponse({
    status: 200,
    schema: REGION_STATUS,
    description: "The protocol's answer for a registered region (never given: Kiln registers none)",
  })
  cudaRegionStatus(@Param('region') region: string) {
    return cudaSharedMemory.status(region);
  }

  @Post('cudasharedmemory/region/:region/register')
  @HttpCode(200)
  @Roles('developer')
  @ApiOperation({ summary: 'Register a CUDA shared memory region: 400, not supported without a GPU' })
  @ApiResponse({
    status: 200,
    schema: S.object('empty on success'),
    description: "The protocol's success answer (never given: Kiln serves without a GPU)",
  })
  cudaRegister(@Param('region') region: string) {
    return cudaSharedMemory.register(region);
  }

  @Post('cudasharedmemory/unregister')
  @HttpCode(200)
  @Roles('developer')
  @ApiOperation({ summary: 'Unregister every CUDA shared memory region: nothing to do' })
  @ApiResponse({ status: 200, schema: S.object('empty on success') })
  cudaUnregisterAll() {
    cudaSharedMemory.unregister();
    return {};
  }

  @Post('cudasharedmemory/region/:region/unregister')
  @HttpCode(200)
  @Roles('developer')
  @ApiOperation({ summary: 'Unregister a CUDA shared memory region: nothing to do' })
  @ApiResponse({ status: 200, schema: S.object('empty on success') })
  cudaUnregister() {
    cudaSharedMemory.unregister();
    return {};
  }
}
