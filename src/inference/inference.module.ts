import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { JsonBodyDialects } from '../platform/http/json-body';
import { ErrorFormats, errorMessageJson } from '../platform/http/problem-details';
import { OpenInferenceController } from './open-inference.controller';
import { OpenInferenceExtensionsController } from './open-inference-extensions.controller';
import { registerServingBodyDialects } from './protocols/json-body';
import { installServingJsonReplies } from './protocols/serving-replies';
import { installTfServingUrlAnswers } from './protocols/tf-serving-urls';
import { installWrongMethodAnswer } from './protocols/wrong-method';
import { PredictController } from './record-api/predict.controller';
import { RecommendController } from './recommend/recommend.controller';
import { TfServingController } from './tf-serving.controller';
import { OpenInferenceGrpcServer } from './grpc/open-inference.grpc-server';
import { InferenceRuntimeModule } from './runtime/inference-runtime.module';
import { ModelsServicesModule } from '../models';
import { InferenceService } from './inference.service';
import { installServingAnswerAudit } from './serving-answer-audit';

/**
 * The inference role's HTTP data plane: the record API, TensorFlow Serving REST (/v1) and the Open
 * Inference Protocol (/v2), all on one `InferenceService`. At init it fits the HTTP server to the
 * serving protocols: `{"error"}` bodies on /v1 and /v2, their JSON dialects (NaN tokens on /v1,
 * form-encoded bodies read as JSON), 405 + `Allow` for a /v2 path under another method (TF
 * Serving's own 400s for malformed /v1 URLs), and
 * JSON replies written by the serving JSON writer with `Content-Type: application/json` exactly, and
 * an audit record for every inference call answered before the runtime audited it.
 */
@Module({
  imports: [InferenceRuntimeModule, ModelsServicesModule],
  controllers: [PredictController, RecommendController, TfServingController, OpenInferenceController, OpenInferenceExtensionsController],
  // The Open Inference Protocol over gRPC runs on KILN_GRPC_PORT when set.
  providers: [OpenInferenceGrpcServer],
})
export class InferenceModule implements OnModuleInit {
  constructor(
    private readonly formats: ErrorFormats,
    private readonly bodyDialects: JsonBodyDialects,
    private readonly adapterHost: HttpAdapterHost,
    private readonly inference: InferenceService,
  ) {}

  onModuleInit(): void {
    this.formats.register('/v1', errorMessageJson).register('/v2', errorMessageJson);
    registerServingBodyDialects(this.bodyDialects);
    // onModuleInit runs inside app.init(), before the server listens: Fastify still takes hooks.
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    installTfServingUrlAnswers(fastify);
    installWrongMethodAnswer(fastify);
    installServingJsonReplies(fastify);
    installServingAnswerAudit(fastify, this.inference);
  }
}
