import { Module } from '@nestjs/common';
import { ModelsServicesModule } from '../../models';
import { DriftScheduler } from './drift-scheduler';

/** The per-model drift-check schedules; import only where the `audit` queue worker runs. */
@Module({
  imports: [ModelsServicesModule],
  providers: [DriftScheduler],
})
export class DriftSchedulerModule {}
