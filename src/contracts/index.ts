export * from './queues';
export * from './dataset-profile';
export * from './dataset-lineage';
export * from './audit';
export * from './model-version';
export * from './promotion';
