/**
 * Public facade of the training domain:
 *  - `TrainingModule` / `TrainingWorkersModule`: for the composition root only;
 *  - `TrainingServicesModule` + `TrainingJobsService`: create training jobs from other domains (the drift closed loop).
 * The TF.js engine it runs (in a worker thread) is the framework-free kernel in `src/ml`, which other
 * domains import directly, never through this facade.
 */
export { TrainingModule, TrainingRpcModule } from './training.module';
export { TrainingWorkersModule } from './training-workers.module';
export { TrainingServicesModule } from './training-services.module';
export { TrainingJobsService } from './training-jobs.service';
