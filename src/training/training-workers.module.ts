import { Module } from '@nestjs/common';
import { TrainProcessor } from './train.processor';
import { TrainingDataModule } from './training-data.module';

/** Processors of the `training` queue only; imported by the role that owns the queue (`training`). */
@Module({
  imports: [TrainingDataModule],
  providers: [TrainProcessor],
})
export class TrainingWorkersModule {}
