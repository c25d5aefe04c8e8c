/**
 * What processes and domains agree on, types and constants only (no logic, imports no domain):
 * queue and job names with one payload/result type per job (queues.ts), the dataset profile and
 * lineage shapes, audit records, the typed model-version views (signature, preprocessing, target,
 * metrics), the promotion verdict a training job hands the registry, and the RPC message patterns
 * between split apps with their payloads (rpc.ts).
 */
export * from './queues';
export * from './dataset-profile';
export * from './dataset-lineage';
export * from './audit';
export * from './model-version';
export * from './promotion';
export * from './rpc';
