/**
 * TensorFlow Serving REST API v1 (`/v1/models/...`): model status, metadata, `:predict`, `:classify`
 * and `:regress`, with the `/versions/{N}` and `/labels/{label}` selectors (a label is a registry
 * alias). TF Serving puts verbs after a colon (`/v1/models/m:predict`), which clashes with route
 * parameter syntax, so one GET and one POST wildcard route take everything under /v1/models/ and
 * the codec parses the rest. Errors are rendered as `{"error": "..."}` by the /v1 error format.
 *
 * KServe's V1 protocol shares these paths: its model-ready answer is folded into the status of
 * `/v1/models/{name}` (`name`, `ready`), and its `:explain` verb is served here too. Where the two
 * protocols answer the same request differently (columnar `inputs`), TF Serving's answer is kept
 * (docs/protocols.md).
 */
import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../platform/http/openapi';
import type { FastifyReply } from 'fastify';
import { Roles, type AuthenticatedRequest } from '../platform/auth';
import { clientRequestIdOf } from '../platform/logging/logging';
import { ValidationProblemException } from '../platform/http/validation';
import { InferenceService } from './inference.service';
import type { InferenceCall } from './runtime/served-model';
import {
  classifyResponse,
  classifySignatureResponse,
  explainResponse,
  modelMetadataResponse,
  modelStatusResponse,
  parseExamples,
  parsePredictRequest,
  parseSignatureExamples,
  parseTfServingPath,
  predictResponse,
  regressResponse,
  regressSignatureResponse,
  signatureNameOf,
  TF_SERVING_ROUTES,
  type TfServingTarget,
} from './protocols/tf-serving';
import { allowedMethods, methodNotAllowed } from './protocols/route-methods';
import { checkMethod, signatureView } from './runtime/signatures';
import { ServedDirectly } from '../platform/http/direct-routes';

const PREFIX = '/v1/models/';

const PATH_DOC = {
  name: 'path',
  description: '`{name}[/versions/{N}|/labels/{label}]` then `/metadata` or nothing (GET), `:predict`, `:classify` or `:regress` (POST)',
  example: 'penguins/labels/production:predict',
};

@ApiTags('serving: TF Serving v1')
@ServedDirectly()
@Controller('v1/models')
@Roles('predictor', 'developer')
export class TfServingController {
  constructor(private readonly inference: InferenceService) {}

  @Get('*')
  @ApiOperation({
    summary: 'Model status (`/v1/models/{name}[sel]`) or metadata (`/v1/models/{name}[sel]/metadata`)',
    description:
      "Without a version or label the status also carries KServe V1's model readiness, `name` and `ready` " +
      '(a call naming no version would be answered now).',
  })
  @ApiParam({ ...PATH_DOC, example: 'penguins/labels/production/metadata' })
  @ApiResponse({
    status: 200,
    schema: {
      oneOf: [
        objectSchema(
          {
            name: S.string,
            ready: S.boolean,
            model_version_status: S.array(S.object('{version, state, status: {error_code, error_message}}')),
          },
          'GetModelStatus; without a version or label also KServe V1 model readiness (name, ready)',
          ['name', 'ready'],
        ),
        objectSchema({ model_spec: S.object('{name, signature_name, version}'), metadata: S.object('{signature_def: …}') }),
      ],
    },
  })
  async get(@Req() req: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const target = this.target(req, reply, 'GET');
    if (target.action === 'metadata') return modelMetadataResponse(await this.describe(target.name, target.selector));
    if (target.selector.alias !== undefined) await this.describe(target.name, target.selector);
    const states = await this.inference.versionStatus(target.name, target.selector);
    const bare = target.selector.version === undefined && target.selector.alias === undefined;
    return modelStatusResponse(states, bare ? { name: target.name, ready: this.inference.servesByDefault(target.name) } : undefined);
  }

  @Post('*')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Predict (`:predict`), classify (`:classify`), regress (`:regress`) or explain (`:explain`, KServe V1)',
    description:
      ':predict takes `instances` (row form) or `inputs` (columnar form) and answers `predictions` or `outputs`; ' +
      'NaN, Infinity and -Infinity are accepted as numbers. ' +
      ':classify / :regress take `{"examples": [...], "context"?}` of named features (Kiln-trained models, or the ' +
      'classify/regress signatures of imported graph models, chosen by `signature_name`) and answer `{"results": ...}`. ' +
      ':explain takes what :predict takes (a Kiln-trained model on the tfjs engine, at most 100 rows) and answers ' +
      '`{"predictions": [...], "explanations": [...]}`: integrated-gradients attributions per source feature, one per row.',
  })
  @ApiParam(PATH_DOC)
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        signature_name: { type: 'string', example: 'serving_default' },
        instances: { type: 'array', items: {} },
        inputs: {},
        context: { type: 'object' },
        examples: { type: 'array', items: { type: 'object' } },
      },
    },
  })
  @ApiResponse({
    status: 200,
    schema: {
      oneOf: [
        objectSchema({ predictions: { description: 'row form' } }),
        objectSchema({ outputs: { description: 'columnar form' } }),
        objectSchema({ results: { description: ':classify / :regress' } }),
        objectSchema({
          predictions: { description: ':explain, row form' },
          explanations: S.array(S.object('{method, steps, output, baseline, prediction, attributions: {feature: number}, delta}')),
        }),
      ],
    },
  })
  async post(@Body() body: unknown, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { name, selector, action } = this.target(req, reply, 'POST');
    const call: InferenceCall = {
      protocol: 'tfserving',
      requestId: req.id,
      clientRequestId: clientRequestIdOf(req.raw),
      callerKeyId: req.principal?.keyId ?? null,
    };
    const model = await this.describe(name, selector);
    const signature = signatureNameOf(body);
    const view = signatureView(model, signature);
    if (action === 'predict') {
      const request = parsePredictRequest(body, view);
      return predictResponse(await this.inference.infer(name, selector, request.inputs, call, { signature }), request.form);
    }
    if (action === 'explain') {
      const request = parsePredictRequest(body, view);
      const field = request.form === 'row' ? 'instances' : 'inputs';
      const result = await this.inference.infer(name, selector, request.inputs, call, { signature, explain: { field } });
      return explainResponse(result, result.explanations ?? []);
    }
    const verb = action as 'classify' | 'regress';
    if (!model.features) {
      // Imported models: the signature's tensors, fed from the examples' features (TF Serving's classify/regress signatures).
      checkMethod(view, verb);
      const inputs = parseSignatureExamples(body, view);
      const examples = inputs[0]?.shape[0] ?? 0;
      const result = await this.inference.infer(name, selector, inputs, call, { signature });
      return verb === 'classify' ? classifySignatureResponse(result, examples) : regressSignatureResponse(result, examples);
    }
    const records = parseExamples(body, model, verb);
    const result = await this.inference.predictRecords(name, selector, records, call).catch((err: unknown) => {
      // The record pipeline names `records.N.feature`; TF Serving clients sent `examples`.
      if (err instanceof ValidationProblemException) {
        throw new BadRequestException(
          err.errors.map((e) => `${e.field.replace(/^records\.(\d+)/, 'examples[$1]')}: ${e.reason}`).join('; '),
        );
      }
      throw err;
    });
    return verb === 'classify' ? classifyResponse(result.predictions) : regressResponse(result.predictions);
  }

  /** The selected version; an unknown label of a known model is TF Serving's 400 (server_core.cc), not a 404. */
  private async describe(name: string, selector: TfServingTarget['selector']) {
    try {
      return await this.inference.describe(name, selector);
    } catch (err) {
      if (!(err instanceof NotFoundException) || selector.alias === undefined) throw err;
      await this.inference.versionStatus(name, {}); // 404 for an unknown model
      throw new BadRequestException(`Unrecognized servable version label: ${selector.alias.slice(0, 200)}`);
    }
  }

  /** The route under /v1/models/ and a 405 (with Allow) when it exists under the other method. */
  private target(req: AuthenticatedRequest, reply: FastifyReply, method: 'GET' | 'POST'): TfServingTarget {
    // Swagger UI and some clients percent-encode the '/' and ':' inside the path.
    const path = decoded(req.url.split('?')[0] ?? req.url);
    const target = parseTfServingPath(path.slice(PREFIX.length));
    if (!target) throw new NotFoundException(`no TensorFlow Serving route ${path.slice(0, 200)}`);
    const allow = allowedMethods(path, TF_SERVING_ROUTES);
    if (!allow.includes(method)) {
      void reply.header('allow', allow.join(', '));
      throw methodNotAllowed(req.method, path, allow);
    }
    return target;
  }
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new NotFoundException(`no TensorFlow Serving route ${path.slice(0, 200)} (bad percent-encoding)`);
  }
}
