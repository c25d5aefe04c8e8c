/**
 * THE SEAM between domains: queue names, job names and their payloads.
 *
 * NEVER RENAME a queue or a job name: they are stored in the queue backend (Redis keys, PostgreSQL
 * rows) and in jobs already enqueued by other processes or by batch systems outside Kiln.
 * Add new names instead, and bump `payloadVersion` when a payload changes shape.
 * Job names follow `<domain>.<verb>-<noun>`.
 */
export enum QueueName {
  Platform = 'platform',
  Ingestion = 'ingestion',
  Training = 'training',
  BatchInference = 'batch-inference',
  Audit = 'audit',
}

export enum JobName {
  /** Diagnostic round trip through the queue backend (health checks, tests). */
  PlatformPing = 'platform.ping',
}

/** Every payload carries the version of its shape so a consumer can reject what it does not know. */
export interface VersionedPayload<V extends number = 1> {
  payloadVersion: V;
}

export interface PlatformPingPayload extends VersionedPayload<1> {
  /** Echoed back in the result. */
  message: string;
  /** The worker waits this long before answering (bounded), to exercise in-flight jobs. */
  delayMs?: number;
}

export interface PlatformPingResult {
  message: string;
  /** Hostname and pid of the worker that answered. */
  answeredBy: string;
  answeredAt: string;
}

/** Payload and result type for every job name: producers and processors cannot disagree. */
export interface JobContracts {
  [JobName.PlatformPing]: { queue: QueueName.Platform; payload: PlatformPingPayload; result: PlatformPingResult };
}

export type JobPayload<N extends JobName> = JobContracts[N]['payload'];
export type JobResult<N extends JobName> = JobContracts[N]['result'];

/** Which queue each job is sent on. */
export const JOB_QUEUE: { [N in JobName]: JobContracts[N]['queue'] } = {
  [JobName.PlatformPing]: QueueName.Platform,
};

/** Deterministic job id from the business key, so a retry or a double submit never does the work twice. */
export function jobId(name: JobName, businessKey: string): string {
  // BullMQ rejects custom ids containing ':' (its Redis key separator), hence '__'.
  return `${name}__${businessKey}`;
}
