import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { JsonBodyDialects } from '../platform/http/json-body';
import { ErrorFormats, errorMessageJson } from '../platform/http/problem-details';
import { OpenInferenceController } from './open-inference.controller';
import { OpenInferenceExtensionsController } from './open-inference-extensions.controller';
import { SharedMemoryController } from './shared-memory.controller';
import { SharedMemoryAdmin } from './shared-memory-admin';
import { TraceController } from './trace.controller';
import { InferenceTracer } from './inference-tracer';
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
import { RpcClients } from '../platform/rpc/rpc-clients';
import { rpcPortClient, unreachablePort } from '../platform/rpc/port';
import { InferenceManagementController } from './inference-management.controller';
import { InferenceManagementPort, LocalInferenceManagement } from './inference-management.port';
import { InferenceManagementRpcController } from './inference-management.rpc-controller';

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
  controllers: [
    PredictController,
    RecommendController,
    TfServingController,
    OpenInferenceController,
    OpenInferenceExtensionsController,
    SharedMemoryController,
    TraceController,
    InferenceManagementController,
  ],
  // The Open Inference Protocol over gRPC runs on KILN_GRPC_PORT when set.
  providers: [
    OpenInferenceGrpcServer,
    SharedMemoryAdmin,
    InferenceTracer,
    LocalInferenceManagement,
    { provide: InferenceManagementPort, useExisting: LocalInferenceManagement },
  ],
  exports: [InferenceManagementPort],
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

/**
 * The hybrid inference app's transport side: its management answered over KILN_TRANSPORT (the data
 * plane stays on its HTTP). Imported with the inference role when the process serves RPC.
 */
@Module({
  imports: [InferenceModule],
  controllers: [InferenceManagementRpcController],
})
export class InferenceRpcModule {}

/**
 * `/api/inference` on a gateway without the inference role: an inference replica over KILN_TRANSPORT,
 * or (no transport target) a 503 saying the management is not reachable from this process.
 */
@Module({
  controllers: [InferenceManagementController],
  providers: [
    {
      provide: InferenceManagementPort,
      inject: [RpcClients],
      useFactory: (clients: RpcClients) =>
        clients.get('inference')
          ? rpcPortClient(clients, 'inference')
          : unreachablePort('inference', 'this process has no inference role and no KILN_TRANSPORT target for it'),
    },
  ],
})
export class InferenceGatewayModule {}
