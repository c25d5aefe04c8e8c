/** `POST /api/feedback`: ground truth for logged live predictions (see feedback.service.ts for the rules). */
import { Body, Controller, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { objectSchema, S } from '../../platform/http/openapi';
import type { FastifyReply } from 'fastify';
import { Roles, type AuthenticatedRequest } from '../../platform/auth';
import { MAX_FEEDBACK_ITEMS } from './feedback-input';
import { AuditPort } from '../audit.port';

const FEEDBACK_OUTCOME = objectSchema(
  {
    created: S.integer,
    unchanged: S.integer,
    items: S.array(
      objectSchema({
        requestId: S.string,
        model: S.string,
        version: S.integer,
        actual: {},
        stored: { type: 'string', enum: ['created', 'unchanged'] },
      }),
    ),
  },
  '201 when a label was recorded, 200 when every label was already stored',
);

const ITEM_SCHEMA = {
  type: 'object',
  required: ['requestId', 'actual'],
  properties: {
    requestId: {
      type: 'string',
      maxLength: 200,
      description: "The x-request-id the prediction's response carried, or the id the client sent when exactly one live prediction has it",
    },
    actual: {
      description:
        'The true class label (numbers/booleans are stringified) or regression value; ' +
        'for a request that scored N records, an array of N values in order',
      oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'array', items: {} }],
    },
  },
};

@ApiTags('audit: feedback and monitoring')
@Controller('api/feedback')
export class FeedbackController {
  constructor(private readonly audit: AuditPort) {}

  @Post()
  @Roles('predictor', 'developer')
  @ApiOperation({
    summary: 'Attach ground truth to logged predictions',
    description:
      `One {requestId, actual} or {items: [...]} (at most ${MAX_FEEDBACK_ITEMS}); all or nothing. ` +
      `201 when a label was stored, 200 when every label was already there. ` +
      '404 for a request id that is not a logged live prediction, 409 when a prediction already has a different label, ' +
      '400 naming the field (items.N.actual) for a value the model version cannot have.',
  })
  @ApiBody({
    schema: {
      oneOf: [
        ITEM_SCHEMA,
        { type: 'object', required: ['items'], properties: { items: { type: 'array', maxItems: MAX_FEEDBACK_ITEMS, items: ITEM_SCHEMA } } },
      ],
    },
  })
  @ApiResponse({ status: 201, schema: FEEDBACK_OUTCOME })
  @ApiResponse({ status: 200, schema: FEEDBACK_OUTCOME })
  async submit(@Body() body: unknown, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const outcome = await this.audit.submitFeedback(body, req.principal?.keyId ?? null);
    void reply.status(outcome.created > 0 ? 201 : 200);
    return outcome;
  }
}
