import { Module, OnModuleInit } from '@nestjs/common';
import { ErrorFormats, errorMessageJson } from '../platform/http/problem-details';
import { OpenInferenceController } from './open-inference.controller';
import { PredictController } from './record-api/predict.controller';
import { TfServingController } from './tf-serving.controller';
import { InferenceRuntimeModule } from './runtime/inference-runtime.module';

/**
 * The inference role's HTTP data plane: the record API, TensorFlow Serving REST (/v1) and the Open
 * Inference Protocol (/v2), all on one `InferenceService`. /v1 and /v2 answer errors as `{"error"}`.
 */
@Module({
  imports: [InferenceRuntimeModule],
  controllers: [PredictController, TfServingController, OpenInferenceController],
})
export class InferenceModule implements OnModuleInit {
  constructor(private readonly formats: ErrorFormats) {}

  onModuleInit(): void {
    this.formats.register('/v1', errorMessageJson).register('/v2', errorMessageJson);
  }
}
