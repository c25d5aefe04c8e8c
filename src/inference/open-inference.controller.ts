/**
 * Open Inference Protocol v2 over REST (`/v2/...`): server and model health, metadata and inference
 * on the shared InferenceService. Request bodies are parsed by the OIP codec; errors are rendered as
 * `{"error": "..."}` by the /v2 error format. Health and server metadata are public (probes).
 */
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../platform/http/openapi';
import { Public, Roles, type AuthenticatedRequest } from '../platform/auth';
import { KILN_CONFIG, type KilnConfig } from '../platform/config/kiln-config';
import { servingEngines } from '../platform/tfjs/serving-engines';
import { clientRequestIdOf } from '../platform/logging/logging';
import { InferenceService } from './inference.service';
import { InferenceTracer, nowNs } from './inference-tracer';
import { inferResponse, modelMetadata, parseInferRequest, parseVersionSegment, serverMetadata } from './protocols/open-inference';
import { unknownModelInTritonWords } from './protocols/triton-errors';
import { writeServingJson } from './protocols/serving-json';
import {
  binaryInferResponse,
  binaryOutputChoice,
  inlineBinaryInputs,
  RAW_BYTES,
  rawBinaryRequest,
  splitBody,
} from './protocols/binary-tensors';
import { readSharedMemoryInputs, sharedMemoryOutputs, withoutSharedMemoryOutputs } from './protocols/shared-memory-tensors';
import { ServedDirectly } from '../platform/http/direct-routes';

const TENSOR_META = objectSchema({ name: S.string, datatype: S.string, shape: S.array(S.integer) });
const MODEL_METADATA = objectSchema({
  name: S.string,
  versions: S.array(S.string),
  platform: S.string,
  inputs: S.array(TENSOR_META),
  outputs: S.array(TENSOR_META),
});
const INFER_RESPONSE = objectSchema(
  {
    model_name: S.string,
    model_version: S.string,
    id: S.string,
    parameters: S.object(),
    outputs: S.array(
      objectSchema(
        { name: S.string, shape: S.array(S.integer), datatype: S.string, parameters: S.object(), data: { type: 'array', items: {} } },
        undefined,
        ['parameters'],
      ),
    ),
  },
  'Open Inference Protocol v2 inference response',
  ['model_version', 'id', 'parameters'],
);

const INFER_DESCRIPTION =
  "JSON tensors in, JSON tensors out, or binary tensors both ways (Triton's binary tensor data extension: " +
  '`Inference-Header-Content-Length`, `binary_data_size`, `binary_data`, `binary_data_output`). FP16/BF16 only as binary ' +
  'data (400 as JSON), BYTES for string inputs only; `outputs` filters what comes back; ' +
  '`id` (at most 200 characters, no control characters) is echoed and kept in the audit record as the client request id ' +
  "(canary routing is sticky on it); the call's own id is the x-request-id response header.";

const TENSOR_SCHEMA = {
  type: 'object',
  required: ['name', 'shape', 'datatype', 'data'],
  properties: {
    name: { type: 'string' },
    shape: { type: 'array', items: { type: 'integer' } },
    datatype: { type: 'string', example: 'FP32' },
    parameters: { type: 'object' },
    data: { type: 'array', items: {}, description: 'row-major, flat or nested; element count = product of shape' },
  },
};

const INFER_SCHEMA = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string' },
    parameters: { type: 'object' },
    inputs: { type: 'array', items: TENSOR_SCHEMA },
    outputs: {
      type: 'array',
      items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, parameters: { type: 'object' } } },
    },
  },
};

@ApiTags('serving: Open Inference Protocol v2')
@ServedDirectly()
@Controller('v2')
export class OpenInferenceController {
  constructor(
    private readonly inference: InferenceService,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    private readonly tracer: InferenceTracer,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Server metadata: name, version, extensions' })
  @ApiResponse({ status: 200, schema: objectSchema({ name: S.string, version: S.string, extensions: S.array(S.string) }) })
  server() {
    return serverMetadata(this.config.version.package, servingEngines());
  }

  @Get('health/live')
  @Public()
  @ApiOperation({ summary: 'Server live' })
  @ApiResponse({ status: 200, schema: objectSchema({ live: S.boolean }) })
  live() {
    return { live: true };
  }

  @Get('health/ready')
  @Public()
  @ApiOperation({ summary: 'Server ready: every version an alias or a deployment references is loaded (503 otherwise)' })
  @ApiResponse({ status: 200, schema: objectSchema({ ready: S.boolean }) })
  serverReady() {
    if (!this.inference.serverReady()) throw new ServiceUnavailableException('not every deployed model version is loaded yet');
    return { ready: true };
  }

  @Get('models/:name')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'Model metadata: versions, platform, input and output tensors (-1 = variable dimension)' })
  @ApiResponse({ status: 200, schema: MODEL_METADATA })
  metadata(@Param('name') name: string) {
    return this.modelMetadata(name, undefined);
  }

  @Get('models/:name/versions/:version')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'Model metadata of one version' })
  @ApiResponse({ status: 200, schema: MODEL_METADATA })
  versionMetadata(@Param('name') name: string, @Param('version') version: string) {
    return this.modelMetadata(name, version);
  }

  @Get('models/:name/ready')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'Model ready (503 while the version is not loaded)' })
  @ApiResponse({ status: 200, schema: objectSchema({ name: S.string, ready: S.boolean }) })
  ready(@Param('name') name: string) {
    return this.modelReady(name, undefined);
  }

  @Get('models/:name/versions/:version/ready')
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'Model version ready (loads an explicit version on demand)' })
  @ApiResponse({ status: 200, schema: objectSchema({ name: S.string, ready: S.boolean }) })
  versionReady(@Param('name') name: string, @Param('version') version: string) {
    return this.modelReady(name, version);
  }

  @Post('models/:name/infer')
  @HttpCode(200)
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'Inference', description: INFER_DESCRIPTION })
  @ApiBody({ schema: INFER_SCHEMA })
  @ApiResponse({ status: 200, schema: INFER_RESPONSE })
  infer(
    @Param('name') name: string,
    @Body() body: unknown,
    @Req() req: AuthenticatedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.runInference(name, undefined, body, req, reply);
  }

  @Post('models/:name/versions/:version/infer')
  @HttpCode(200)
  @Roles('predictor', 'developer')
  @ApiOperation({ summary: 'Inference on one version', description: INFER_DESCRIPTION })
  @ApiBody({ schema: INFER_SCHEMA })
  @ApiResponse({ status: 200, schema: INFER_RESPONSE })
  versionInfer(
    @Param('name') name: string,
    @Param('version') version: string,
    @Body() body: unknown,
    @Req() req: AuthenticatedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.runInference(name, version, body, req, reply);
  }

  private async modelMetadata(name: string, version: string | undefined) {
    const selector = parseVersionSegment(name, version);
    const model = await this.inference.describe(name, selector).catch(unknownModelInTritonWords(name));
    const versions =
      selector.version !== undefined ? [model.version] : (await this.inference.versionStatus(name, {})).map((s) => s.version);
    return modelMetadata(model, versions.length ? [...new Set(versions)].sort((a, b) => a - b) : [model.version]);
  }

  private async modelReady(name: string, version: string | undefined) {
    if (!(await this.inference.isReady(name, parseVersionSegment(name, version)))) {
      throw new ServiceUnavailableException(`model '${name}'${version ? ` version ${version}` : ''} is not ready`);
    }
    return { name, ready: true };
  }

  private async runInference(name: string, version: string | undefined, body: unknown, req: AuthenticatedRequest, reply: FastifyReply) {
    const selector = parseVersionSegment(name, version);
    const model = await this.inference.describe(name, selector).catch(unknownModelInTritonWords(name));
    const trace = this.tracer.start(name, req.id, 'oip');
    trace?.mark('HTTP_RECV_START', nowNs() - Math.round(reply.elapsedTime * 1e6));
    trace?.mark('REQUEST_START');
    let shared: Awaited<ReturnType<typeof readSharedMemoryInputs>> = null;
    try {
      const split = splitBody(body);
      const raw = split.json === undefined && split.binary ? rawBinaryRequest(model, split.binary) : null;
      const json = raw ?? split.json;
      // a raw BYTES element gets its length prefix: the binary part the request stands for
      const binary = raw?.[RAW_BYTES] ?? split.binary;
      shared = await readSharedMemoryInputs(json, this.inference.sharedMemory);
      const binaryOutputs = withoutSharedMemoryOutputs(binaryOutputChoice(json), shared?.outputs);
      const request = parseInferRequest(inlineBinaryInputs(shared?.body ?? json, binary, name), model);
      const infer = () =>
        this.inference.infer(
          name,
          selector,
          request.inputs,
          {
            protocol: 'oip',
            requestId: req.id,
            clientRequestId: request.id ?? clientRequestIdOf(req.raw),
            callerKeyId: req.principal?.keyId ?? null,
          },
          { ...(request.outputs ? { outputs: request.outputs } : {}), ...(shared ? { deliver: shared.write } : {}) },
        );
      const result = trace ? await trace.compute(request.inputs, infer) : await infer();
      const plain = inferResponse(result, request);
      const response = shared ? { ...plain, outputs: sharedMemoryOutputs(plain.outputs, shared.outputs, result.outputs) } : plain;
      const encoded = binaryOutputs && binaryInferResponse(response, result, binaryOutputs, writeServingJson);
      trace?.end();
      if (!encoded) return response;
      void reply.header('Inference-Header-Content-Length', String(encoded.headerLength)).type('application/octet-stream');
      return encoded.body;
    } catch (e) {
      trace?.end(e);
      throw e;
    } finally {
      await shared?.release();
    }
  }
}
