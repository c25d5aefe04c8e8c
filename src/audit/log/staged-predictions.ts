/**
 * Prediction records that were answered but not chained yet. A call is answered only once its record
 * is durable in `audit_staging` (audit-staging.ts), and the chainer moves staged rows into the log in
 * one transaction; so one statement that reads both the log and `audit_staging` (one snapshot) finds
 * every answered record in exactly one of them, with no wait, however far behind the chainer is and in
 * whichever process it runs. A row the chainer refused (refused_at set) is not looked at: its valid
 * records are in the log.
 *
 * A staged batch is JSON text, as AuditSink's JSON.stringify wrote it: a row is matched by the text of
 * the member searched for (`"requestId":"…"`), then parsed here and its records filtered exactly (the
 * text may also match an admin event's request id, or a key inside a record's inputs).
 */
import type { AuditPredictionRecord, AuditRecordBatchPayload } from '../../contracts';
import { predictionContent, type PredictionContent } from './chain-content';
import { IncomingRecordError, normalizePrediction } from './incoming-records';

/** The record members a staged batch is searched by. */
export type StagedIdField = 'requestId' | 'clientRequestId';

/**
 * SQL condition on the `audit_staging` row `alias`: waiting for the chainer and holding one of the
 * texts of the `text[]` parameter `param` (see stagedNeedles).
 */
export function stagedRowHolds(alias: string, param: string): string {
  return `${alias}.refused_at IS NULL AND EXISTS (SELECT 1 FROM unnest(${param}::text[]) n WHERE strpos(${alias}.batch, n) > 0)`;
}

/** The texts a staged batch holding a record whose `field` is one of `values` contains. */
export function stagedNeedles(field: StagedIdField, values: string[]): string[] {
  return values.map((v) => `"${field}":${JSON.stringify(v)}`);
}

/** The prediction records of one staged batch (its JSON text). */
export function stagedPredictions(batch: string): AuditPredictionRecord[] {
  const payload = JSON.parse(batch) as AuditRecordBatchPayload;
  return Array.isArray(payload.predictions) ? payload.predictions.filter((r) => r !== null && typeof r === 'object') : [];
}

/**
 * A staged record in the API form of a logged one: the content the log will hold (checked and
 * normalised as the chainer will, so inputsSha256 is there too), with `seq`, `loggedAt`, `prevHash` and
 * `hash` null (the chainer assigns them) and `chained: false`. Only this form carries `chained`: a
 * chained record stays exactly its export line (content plus hashes), which re-verifies offline.
 * Null for a record breaking the contract: the chainer will refuse it, it will never be logged.
 */
export function stagedPredictionDto(record: AuditPredictionRecord): StagedPredictionDto | null {
  let content: PredictionContent;
  try {
    content = predictionContent({ ...normalizePrediction(record, 0, true), seq: 0, loggedAt: new Date(0) });
  } catch (err) {
    if (err instanceof IncomingRecordError) return null;
    throw err;
  }
  return { ...content, seq: null, loggedAt: null, prevHash: null, hash: null, chained: false };
}

export type StagedPredictionDto = Omit<PredictionContent, 'seq' | 'loggedAt'> & {
  seq: null;
  loggedAt: null;
  prevHash: null;
  hash: null;
  chained: false;
};
