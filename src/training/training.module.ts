import { Module } from '@nestjs/common';
import { TrainingServicesModule } from './training-services.module';
import { TrainingJobsController } from './training-jobs.controller';
import { TrainingJobEvents } from './training-job-events';
import { portProvider } from '../platform/rpc/port';
import { LocalTrainingJobs, TrainingJobsPort } from './training-jobs.port';
import { TrainingJobsRpcController } from './training-jobs.rpc-controller';

/** The training jobs HTTP API; roles `gateway` and `training`. */
@Module({
  imports: [TrainingServicesModule],
  controllers: [TrainingJobsController],
  providers: [TrainingJobEvents, LocalTrainingJobs, portProvider(TrainingJobsPort, 'training', LocalTrainingJobs)],
})
export class TrainingModule {}

/** The training app's message handlers (role `training`); answered once bootstrap connects the transport. */
@Module({
  imports: [TrainingServicesModule],
  controllers: [TrainingJobsRpcController],
  providers: [LocalTrainingJobs, { provide: TrainingJobsPort, useExisting: LocalTrainingJobs }],
})
export class TrainingRpcModule {}
