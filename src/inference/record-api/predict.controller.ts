import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles, type AuthenticatedRequest } from '../../platform/auth';
import { clientRequestIdOf } from '../../platform/logging/logging';
import { ValidationProblemException } from '../../platform/http/validation';
import { parseVersionSelector } from '../../models';
import { InferenceService } from '../inference.service';
import type { ModelSelector } from '../runtime/served-model';
import { PredictRequestDto, PredictResponseDto, ShadowSummaryDto } from './predict.dto';
import { ServedDirectly } from '../../platform/http/direct-routes';

/** Parses `?version=N` / `?alias=…` (exclusive); neither means the deployment routes, else `production`. */
export function selectorFromQuery(version: string | undefined, alias: string | undefined): ModelSelector {
  return parseVersionSelector({ version, alias }, { text: true });
}

/**
 * The record API: named features in, labelled predictions out, with the model's saved preprocessing.
 * Hot path: the body is checked by hand (not by the DTO pipe, which would deep-copy every record).
 */
@ApiTags('serving: record API')
@ServedDirectly()
@Controller('api/models')
export class PredictController {
  constructor(private readonly inference: InferenceService) {}

  @Post(':name/predict')
  @HttpCode(200)
  @Roles('predictor', 'developer')
  @ApiOperation({
    summary: 'Predict from named-feature records',
    description:
      "Applies the version's saved preprocessing. Without version/alias the model's deployment routes " +
      '(canary weights, sticky on x-request-id) decide, ' +
      'else the production alias. ' +
      'A missing, extra or wrongly typed feature answers 400 naming the record index, the feature and the reason.\n\n' +
      "The records' keys are the model's feature names (`signature.features` of GET /api/models/{name}/versions/{version}); " +
      'the pre-filled example fits the README walkthrough’s `penguins` model (vega-datasets penguins.json, target Species).',
  })
  @ApiQuery({ name: 'version', required: false, type: Number })
  @ApiQuery({ name: 'alias', required: false, type: String })
  @ApiQuery({
    name: 'explain',
    required: false,
    type: Boolean,
    description: 'Per-feature integrated-gradients attributions (at most 100 records)',
  })
  @ApiBody({ type: PredictRequestDto })
  @ApiResponse({ status: 200, type: PredictResponseDto })
  async predict(
    @Param('name') name: string,
    @Query('version') version: string | undefined,
    @Query('alias') alias: string | undefined,
    @Query('explain') explain: string | undefined,
    @Body() body: unknown,
    @Req() req: AuthenticatedRequest,
  ) {
    const selector = selectorFromQuery(version, alias);
    if (explain !== undefined && explain !== 'true' && explain !== 'false')
      throw new ValidationProblemException([{ field: 'explain', reason: 'must be true or false' }]);
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new BadRequestException('body: must be a JSON object {records: [...]}');
    const { records, ...rest } = body as { records?: unknown };
    const extra = Object.keys(rest);
    if (extra.length)
      throw new ValidationProblemException(extra.map((field) => ({ field, reason: 'is not a known property (expected only records)' })));
    if (!Array.isArray(records)) throw new ValidationProblemException([{ field: 'records', reason: 'must be an array of objects' }]);
    const result = await this.inference.predictRecords(
      name,
      selector,
      records,
      {
        protocol: 'record',
        requestId: req.id,
        clientRequestId: clientRequestIdOf(req.raw),
        callerKeyId: req.principal?.keyId ?? null,
      },
      { explain: explain === 'true' },
    );
    return { model: result.model.name, version: result.model.version, requestId: req.id, predictions: result.predictions };
  }

  @Get(':name/shadow')
  @Roles('developer')
  @ApiOperation({ summary: "Shadow version's answers next to the live ones (this replica's recent calls)" })
  @ApiResponse({ status: 200, type: ShadowSummaryDto })
  shadow(@Param('name') name: string) {
    return this.inference.shadows.summary(name);
  }
}
