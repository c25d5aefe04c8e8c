/**
 * Public facade of the training domain:
 *  - `TrainingModule` / `TrainingWorkersModule`: for the composition root only;
 *  - the framework-free engine (`./engine`) for inference (record API: preprocessing + predict).
 */
export { TrainingModule } from './training.module';
export { TrainingWorkersModule } from './training-workers.module';
export * as engine from './engine';
