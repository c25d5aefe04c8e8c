import { Module } from '@nestjs/common';
import { TrainingDataModule } from './training-data.module';
import { TrainingJobsController } from './training-jobs.controller';
import { TrainingJobEvents } from './training-job-events';

/** The training jobs HTTP API; roles `gateway` and `training`. */
@Module({
  imports: [TrainingDataModule],
  controllers: [TrainingJobsController],
  providers: [TrainingJobEvents],
})
export class TrainingModule {}
