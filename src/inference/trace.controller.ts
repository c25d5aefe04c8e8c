/**
 * Triton's trace extension on /v2 (`trace` in `GET /v2` `extensions`): the trace settings of this
 * process, global or per model (inference-tracer.ts says what Kiln traces and where the traces go).
 * Reading needs predictor or developer; changing them is model management (developer), audited.
 * Errors are `{"error": "..."}` as on all of /v2; an unknown model is Triton's 400.
 */
import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles, type AuthenticatedRequest } from '../platform/auth';
import { actorOf } from '../platform/audit-trail/admin-event-outbox';
import { Audited } from '../platform/audit-trail/audited.decorator';
import { objectSchema, S } from '../platform/http/openapi';
import { InferenceTracer } from './inference-tracer';

const SETTINGS = objectSchema({
  trace_file: S.string,
  trace_level: S.array(S.string),
  trace_rate: S.string,
  trace_count: S.string,
  log_frequency: S.string,
  trace_mode: S.string,
});

const UPDATE = {
  type: 'object',
  description: 'Only the settings named change; null clears one (a model follows the global setting again).',
  properties: {
    trace_level: { type: 'array', items: { type: 'string', enum: ['OFF', 'TIMESTAMPS', 'TENSORS'] }, nullable: true },
    trace_rate: { type: 'string', description: 'one trace per this many calls (≥ 1)', nullable: true },
    trace_count: { type: 'string', description: 'traces left to take; -1 = no limit', nullable: true },
    log_frequency: { type: 'string', description: 'traces per log line; 0 = one line per trace', nullable: true },
  },
};

const DESCRIPTION =
  'Sampled Open Inference Protocol inference calls (REST and gRPC) are written to the structured log as ' +
  '`inference trace` lines with Triton-named timestamps (and inputs/outputs at level TENSORS). Settings belong to this process.';

@ApiTags('serving: Open Inference Protocol v2')
@Controller('v2')
export class TraceController {
  constructor(private readonly tracer: InferenceTracer) {}

  @Get('trace/setting')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'Global trace settings', description: DESCRIPTION })
  @ApiResponse({ status: 200, schema: SETTINGS })
  global() {
    return this.tracer.view();
  }

  @Post('trace/setting')
  @HttpCode(200)
  @Roles('developer')
  @Audited('trace-settings.changed')
  @ApiOperation({ summary: 'Update the global trace settings', description: DESCRIPTION })
  @ApiBody({ required: false, schema: UPDATE })
  @ApiResponse({ status: 200, schema: SETTINGS })
  updateGlobal(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.tracer.update(undefined, body, actorOf(req));
  }

  @Get('models/:name/trace/setting')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: "A model's trace settings (its own, the global ones for the rest)", description: DESCRIPTION })
  @ApiResponse({ status: 200, schema: SETTINGS })
  model(@Param('name') name: string) {
    return this.tracer.view(name);
  }

  @Post('models/:name/trace/setting')
  @HttpCode(200)
  @Roles('developer')
  @Audited('trace-settings.changed')
  @ApiOperation({ summary: "Update a model's trace settings", description: DESCRIPTION })
  @ApiBody({ required: false, schema: UPDATE })
  @ApiResponse({ status: 200, schema: SETTINGS })
  updateModel(@Param('name') name: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    return this.tracer.update(name, body, actorOf(req));
  }
}
