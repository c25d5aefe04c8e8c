/**
 * Triton's Open Inference Protocol extensions on /v2 (listed in `GET /v2` `extensions`): model
 * repository (index, load, unload), statistics and model configuration, on the shared runtime.
 * Errors are `{"error": "..."}` like the rest of /v2 (its error format is registered by the module).
 */
import { Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../platform/http/openapi';
import { ModelDeployments } from '../models';
import { actorOf } from '../platform/audit-trail/admin-event-outbox';
import { Audited } from '../platform/audit-trail/audited.decorator';
import { Roles, type AuthenticatedRequest } from '../platform/auth';
import { TfRuntime } from '../platform/tfjs/tf-runtime';
import { InferenceService } from './inference.service';
import { parseVersionSegment } from './protocols/open-inference';
import { modelConfig, parseLoadRequest, parseRepositoryIndexRequest, parseUnloadRequest } from './protocols/oip-extensions';

const MODEL_STATS = objectSchema({
  model_stats: S.array(
    S.object(
      "Triton's statistics extension: name, version, last_inference, inference_count, execution_count, inference_stats, batch_stats",
    ),
  ),
});

const STATS_DESCRIPTION =
  "Triton's statistics extension: cumulative counters of this process since it started (inference and execution counts, " +
  'success/fail/queue/compute durations in ns, per batch size), for every version that ran or is loaded here.';

@ApiTags('serving: Open Inference Protocol v2')
@Controller('v2')
export class OpenInferenceExtensionsController {
  constructor(
    private readonly inference: InferenceService,
    private readonly deployments: ModelDeployments,
  ) {}

  @Get('models/stats')
  @Roles('predictor', 'developer', 'auditor')
  @ApiOperation({ summary: 'Statistics of every model version', description: STATS_DESCRIPTION })
  @ApiResponse({ status: 200, schema: MODEL_STATS })
  async allStats() {
    return { model_stats: await this.inference.repository.statistics() };
  }

  @Get('models/:name/stats')
  @Roles('predictor', 'developer', 'auditor')
  @ApiOperation({ summary: 'Statistics of every version of a model', description: STATS_DESCRIPTION })
  @ApiResponse({ status: 200, schema: MODEL_STATS })
  async modelStats(@Param('name') name: string) {
    return { model_stats: await this.inference.repository.statistics(name) };
  }

  @Get('models/:name/versions/:version/stats')
  @Roles('predictor', 'developer', 'auditor')
  @ApiOperation({ summary: 'Statistics of one model version', description: STATS_DESCRIPTION })
  @ApiResponse({ status: 200, schema: MODEL_STATS })
  async versionStats(@Param('name') name: string, @Param('version') version: string) {
    return { model_stats: await this.inference.repository.statistics(name, parseVersionSegment(name, version).version) };
  }

  @Get('models/:name/config')
  @Roles('predictor', 'developer')
  @ApiOperation({
    summary: "Model configuration in Triton's ModelConfig JSON (of the version that answers the model)",
    description: '`max_batch_size` and `dynamic_batching` come from the serving settings (PUT /api/models/{name}/serving).',
  })
  @ApiResponse({
    status: 200,
    schema: S.object("Triton's ModelConfig JSON: name, platform, backend, max_batch_size, input, output, dynamic_batching, …"),
  })
  config(@Param('name') name: string) {
    return this.modelConfig(name, undefined);
  }

  @Get('models/:name/versions/:version/config')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: "Model configuration of one version in Triton's ModelConfig JSON" })
  @ApiResponse({ status: 200, schema: S.object("Triton's ModelConfig JSON") })
  versionConfig(@Param('name') name: string, @Param('version') version: string) {
    return this.modelConfig(name, version);
  }

  @Post('repository/index')
  @HttpCode(200)
  @Roles('predictor', 'developer')
  @ApiOperation({
    summary: 'Model repository index: every active registry version with its state here (READY, LOADING, UNAVAILABLE)',
  })
  @ApiBody({ required: false, schema: { type: 'object', properties: { ready: { type: 'boolean' } } } })
  @ApiResponse({ status: 200, schema: S.array(objectSchema({ name: S.string, version: S.string, state: S.string, reason: S.string })) })
  async index(@Body() body: unknown) {
    return this.inference.repository.index(parseRepositoryIndexRequest(body).ready);
  }

  @Post('repository/models/:name/load')
  @HttpCode(200)
  @Roles('developer')
  @Audited('serving-settings.changed')
  @ApiOperation({
    summary: 'Load a model in this process',
    description:
      'A model an alias or a deployment routes is already loaded (its versions are checked); any other model gets its newest ' +
      'active version loaded and used when no version is asked, until it is unloaded. Acts on this process only. ' +
      "`parameters.config` (Triton's ModelConfig as JSON text) may set max_batch_size and dynamic_batching: they become the " +
      "model's serving settings (every replica; an admin event). Other config fields and file: parameters → 400.",
  })
  @ApiBody({ required: false, schema: { type: 'object', properties: { parameters: { type: 'object' } } } })
  @ApiResponse({ status: 200, schema: S.object('empty on success') })
  async load(@Param('name') name: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { serving } = parseLoadRequest(name, body);
    if (serving && Object.keys(serving).length > 0) {
      if (!(await this.inference.repository.exists(name))) throw new NotFoundException(`failed to load '${name}': no model of that name`);
      await this.deployments.setServing(name, serving, req.principal?.name ?? null, actorOf(req));
    }
    // Loading applies the registry's newest routing snapshot, so new serving settings are in force when it answers.
    await this.inference.repository.load(name);
    return {};
  }

  @Post('repository/models/:name/unload')
  @HttpCode(200)
  @Roles('developer')
  @ApiOperation({
    summary: 'Unload a model from this process',
    description: 'Versions routed by an alias or a deployment are refused (409): move the alias or deployment instead.',
  })
  @ApiBody({ required: false, schema: { type: 'object', properties: { parameters: { type: 'object' } } } })
  @ApiResponse({ status: 200, schema: S.object('empty on success') })
  async unload(@Param('name') name: string, @Body() body: unknown) {
    parseUnloadRequest(body);
    await this.inference.repository.unload(name);
    return {};
  }

  private async modelConfig(name: string, version: string | undefined) {
    const model = await this.inference.describe(name, parseVersionSegment(name, version));
    const gpu = TfRuntime.info()?.provider === '@tensorflow/tfjs-node-gpu';
    return modelConfig(model, this.inference.repository.servingSettings(name), gpu);
  }
}
