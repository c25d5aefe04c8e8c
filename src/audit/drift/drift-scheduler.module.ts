import { Module } from '@nestjs/common';
import { ModelsDataModule } from '../../models';
import { DriftScheduler } from './drift-scheduler';

/** The per-model drift-check schedules; import only where the `audit` queue worker runs. */
@Module({
  imports: [ModelsDataModule],
  providers: [DriftScheduler],
})
export class DriftSchedulerModule {}
