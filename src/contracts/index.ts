export * from './queues';
export * from './dataset-profile';
export * from './audit';
