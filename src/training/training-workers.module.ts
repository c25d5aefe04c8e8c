import { DynamicModule, Module } from '@nestjs/common';
import { Processor } from '@nestjs/bullmq';
import { QueueName } from '../contracts';
import type { TrainingConfig } from '../platform/config/kiln-config';
import { TrainProcessor } from './train.processor';
import { TrainingServicesModule } from './training-services.module';
import { trainingWorkerOptions } from './training-worker-options';

/** Processors of the `training` queue only; imported by the role that owns the queue (`training`). */
@Module({})
export class TrainingWorkersModule {
  /**
   * The worker options come from the validated configuration: @Processor is applied here, at module
   * build time, to a subclass of this call's own (so two apps in one process keep their own options).
   */
  static forRoot(training: TrainingConfig): DynamicModule {
    @Processor(QueueName.Training, trainingWorkerOptions(training))
    class ConfiguredTrainProcessor extends TrainProcessor {}
    return {
      module: TrainingWorkersModule,
      imports: [TrainingServicesModule],
      providers: [{ provide: TrainProcessor, useClass: ConfiguredTrainProcessor }],
    };
  }
}
