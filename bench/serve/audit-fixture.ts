/**
 * Audit records as `bench:serve` makes them (record API, one record of the small model's 30 features,
 * its prediction as output), in the form AuditSink stages them: one JSON text per group commit. Shared
 * by the chainer benches (chainer-cost.ts, chainer-drain.ts).
 */
import { randomUUID } from 'node:crypto';
import { featureNames, predictBody } from './fixture';

const FEATURES = featureNames(30);

/** One staged batch (an `audit_staging.batch` text) of `records` predictions, each with a fresh request id. */
export function stagedBatchText(records: number): string {
  const predictions = Array.from({ length: records }, (_, i) => ({
    requestId: randomUUID(),
    clientRequestId: null,
    servedAt: new Date(Date.UTC(2026, 11, 7, 3, 0, 0, i)).toISOString(),
    callerKeyId: 'k_bench',
    model: 'bench-serve-small',
    version: 1,
    route: 'record',
    kind: 'live',
    latencyMs: 1.234 + i / 1000,
    inputs: (JSON.parse(predictBody(FEATURES, i)) as { records: unknown[] }).records,
    inputsSha256: null,
    canary: false,
    status: 200,
    rows: 1,
    outputs: [{ label: 'yes', probabilities: { no: 0.3130906820297241, yes: 0.6869093179702759 }, score: 0.6869093179702759 }],
    error: null,
  }));
  return JSON.stringify({ payloadVersion: 1, predictions, events: [] });
}
