import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IngestionServicesModule } from '../ingestion';
import { ModelsServicesModule } from '../models';
import { TrainingJobEntity } from './training-job.entity';
import { TrainingJobsService } from './training-jobs.service';

/** Training jobs in the database and the service; shared by the API and the workers. No routes, no processors. */
@Module({
  imports: [TypeOrmModule.forFeature([TrainingJobEntity]), IngestionServicesModule, ModelsServicesModule],
  providers: [TrainingJobsService],
  exports: [TrainingJobsService, TypeOrmModule, IngestionServicesModule, ModelsServicesModule],
})
export class TrainingServicesModule {}
