import { Module } from '@nestjs/common';
import { TrainingServicesModule } from './training-services.module';
import { TrainingJobsController } from './training-jobs.controller';
import { TrainingJobEvents } from './training-job-events';

/** The training jobs HTTP API; roles `gateway` and `training`. */
@Module({
  imports: [TrainingServicesModule],
  controllers: [TrainingJobsController],
  providers: [TrainingJobEvents],
})
export class TrainingModule {}
