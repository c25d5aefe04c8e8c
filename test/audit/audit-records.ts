/** Prediction records as a serving process hands them to the audit log, for tests that stage or write them directly. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/audit/chain';
import type { AuditPredictionRecord } from '../../src/contracts';

/**
 * A live, answered record-API call of version 1 of `penguins` (unless `over` says otherwise) with these
 * `inputs` and their digest, served now.
 */
export function livePrediction(
  requestId: string,
  inputs: unknown[] = [{ x: 1 }],
  over: Partial<AuditPredictionRecord> = {},
): AuditPredictionRecord {
  return {
    requestId,
    servedAt: new Date().toISOString(),
    callerKeyId: null,
    model: 'penguins',
    version: 1,
    route: 'record',
    kind: 'live',
    canary: false,
    status: 200,
    latencyMs: 1.5,
    rows: 1,
    inputs,
    inputsSha256: createHash('sha256').update(canonicalJson(inputs)).digest('hex'),
    outputs: [{ label: 'Adelie' }],
    error: null,
    ...over,
  };
}
