/**
 * Public facade of the training domain:
 *  - `TrainingModule` / `TrainingWorkersModule`: for the composition root only;
 *  - `TrainingServicesModule` + `TrainingJobsService`: create training jobs from other domains (the drift closed loop);
 *  - the framework-free engine (`./engine`) for inference (record API: preprocessing + predict).
 */
export { TrainingModule } from './training.module';
export { TrainingWorkersModule } from './training-workers.module';
export { TrainingServicesModule } from './training-services.module';
export { TrainingJobsService } from './training-jobs.service';
export * as engine from './engine';
