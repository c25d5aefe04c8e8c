import { Body, Controller, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import { Roles, type AuthenticatedRequest } from '../../platform/auth';
import { clientRequestIdOf } from '../../platform/logging/logging';
import { selectorFromQuery } from '../record-api/predict.controller';
import type { InferenceCall } from '../runtime/served-model';
import { DEFAULT_K, MAX_EXCLUDE, MAX_K } from './recommend-request';
import { RecommendService } from './recommend.service';

/**
 * Recommender versions (template `recommender`): personalised top-K lists and similar items. Same
 * selection as predict: `?version=` / `?alias=`, else the deployment routes (canary, sticky on
 * x-request-id), else `production`. Bodies are checked by hand (the hot path, like predict).
 */
@ApiTags('serving: recommendations')
@Controller('api/models')
export class RecommendController {
  constructor(private readonly recommendations: RecommendService) {}

  @Post(':name/recommend')
  @HttpCode(200)
  @Roles('predictor', 'developer')
  @ApiOperation({
    summary: "A user's top-K items",
    description:
      'Scores every item of the catalogue for the user (one matrix product per request batch and a partial sort). ' +
      "filterSeen (default true) leaves out the items the user interacted with in the version's training data; " +
      "exclude leaves out more. An unknown user gets the training data's most popular items, marked fallback: 'popularity' " +
      '(score: training interactions). A model that is not a recommender answers 400.',
  })
  @ApiQuery({ name: 'version', required: false, type: Number })
  @ApiQuery({ name: 'alias', required: false, type: String })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['user'],
      properties: {
        user: { oneOf: [{ type: 'string' }, { type: 'number' }] },
        k: { type: 'integer', minimum: 1, maximum: MAX_K, default: DEFAULT_K },
        exclude: { type: 'array', maxItems: MAX_EXCLUDE, items: { oneOf: [{ type: 'string' }, { type: 'number' }] } },
        filterSeen: { type: 'boolean', default: true },
      },
    },
  })
  @ApiResponse({
    status: 200,
    schema: objectSchema(
      {
        model: S.string,
        version: S.integer,
        requestId: S.string,
        items: S.array(objectSchema({ item: S.string, score: S.number })),
        fallback: { type: 'string', enum: ['popularity'], description: 'the user is unknown: the most popular items' },
      },
      undefined,
      ['fallback'],
    ),
  })
  async recommend(
    @Param('name') name: string,
    @Query('version') version: string | undefined,
    @Query('alias') alias: string | undefined,
    @Body() body: unknown,
    @Req() req: AuthenticatedRequest,
  ) {
    const r = await this.recommendations.recommend(name, selectorFromQuery(version, alias), body, callOf(req));
    return {
      model: r.model.name,
      version: r.model.version,
      requestId: req.id,
      items: r.items,
      ...(r.fallback ? { fallback: r.fallback } : {}),
    };
  }

  @Post(':name/similar-items')
  @HttpCode(200)
  @Roles('predictor', 'developer')
  @ApiOperation({
    summary: 'Items most similar to an item',
    description:
      'Cosine similarity of the L2-normalised item embeddings (the item itself left out). An item not in the catalogue answers 400.',
  })
  @ApiQuery({ name: 'version', required: false, type: Number })
  @ApiQuery({ name: 'alias', required: false, type: String })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['item'],
      properties: {
        item: { oneOf: [{ type: 'string' }, { type: 'number' }] },
        k: { type: 'integer', minimum: 1, maximum: MAX_K, default: DEFAULT_K },
        exclude: { type: 'array', maxItems: MAX_EXCLUDE, items: { oneOf: [{ type: 'string' }, { type: 'number' }] } },
      },
    },
  })
  @ApiResponse({
    status: 200,
    schema: objectSchema({
      model: S.string,
      version: S.integer,
      requestId: S.string,
      items: S.array(objectSchema({ item: S.string, score: S.number })),
    }),
  })
  async similarItems(
    @Param('name') name: string,
    @Query('version') version: string | undefined,
    @Query('alias') alias: string | undefined,
    @Body() body: unknown,
    @Req() req: AuthenticatedRequest,
  ) {
    const r = await this.recommendations.similarItems(name, selectorFromQuery(version, alias), body, callOf(req));
    return { model: r.model.name, version: r.model.version, requestId: req.id, items: r.items };
  }
}

function callOf(req: AuthenticatedRequest): InferenceCall {
  return {
    protocol: 'recommend',
    requestId: req.id,
    clientRequestId: clientRequestIdOf(req.raw),
    callerKeyId: req.principal?.keyId ?? null,
  };
}
