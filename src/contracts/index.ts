export * from './queues';
export * from './dataset-profile';
