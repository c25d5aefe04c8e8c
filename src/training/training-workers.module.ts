import { Module } from '@nestjs/common';
import { TrainProcessor } from './train.processor';
import { TrainingServicesModule } from './training-services.module';

/** Processors of the `training` queue only; imported by the role that owns the queue (`training`). */
@Module({
  imports: [TrainingServicesModule],
  providers: [TrainProcessor],
})
export class TrainingWorkersModule {}
