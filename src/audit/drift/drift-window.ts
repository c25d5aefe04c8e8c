/**
 * Turns logged record-API predictions (audit_predictions rows: `inputs` = the records sent,
 * `outputs` = the predictions returned, index-aligned) into the per-feature columns that
 * `compareToReference` reads, plus the column of predicted labels / values. Pure.
 */

export type WindowValue = number | string | boolean | null;

export interface LoggedPrediction {
  servedAt: Date;
  /** Array of record objects, or null when payloads are hashed. */
  inputs: unknown;
  /** Array of predictions `{label?, value?, …}`, index-aligned with `inputs`. */
  outputs: unknown;
}

export interface DriftWindow {
  /** feature → one value per record in the window (null when absent or not a scalar). */
  columns: Record<string, WindowValue[]>;
  /** Predicted label (classification) or value (regression) per record; null when none. */
  predictions: WindowValue[];
  /** Records in the window. */
  rows: number;
  /** Logged calls the records came from. */
  requests: number;
  /** Logged calls skipped because their inputs were not stored (KILN_AUDIT_PAYLOADS=hash). */
  hashedRequests: number;
  /** served_at of the oldest and newest call used (null when the window is empty). */
  from: Date | null;
  to: Date | null;
}

function scalar(v: unknown): WindowValue {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  return typeof v === 'string' || typeof v === 'boolean' ? v : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function predictedValue(p: unknown): WindowValue {
  if (!isRecord(p)) return null;
  if (p.label !== undefined) return scalar(p.label);
  return scalar(p.value);
}

/**
 * Collects at most `maxRows` records for `features`, newest calls first (`logged` must be ordered
 * newest first; a call that straddles the limit contributes its first records only).
 */
export function buildWindow(logged: readonly LoggedPrediction[], features: readonly string[], maxRows: number): DriftWindow {
  const columns: Record<string, WindowValue[]> = Object.fromEntries(features.map((f) => [f, [] as WindowValue[]]));
  const predictions: WindowValue[] = [];
  let rows = 0;
  let requests = 0;
  let hashedRequests = 0;
  let from: Date | null = null;
  let to: Date | null = null;
  for (const call of logged) {
    if (rows >= maxRows) break;
    if (call.inputs === null || call.inputs === undefined) {
      hashedRequests++;
      continue;
    }
    if (!Array.isArray(call.inputs)) continue;
    const outputs = Array.isArray(call.outputs) ? call.outputs : [];
    const take = Math.min(call.inputs.length, maxRows - rows);
    let used = 0;
    for (let i = 0; i < take; i++) {
      const record = call.inputs[i];
      if (!isRecord(record)) continue;
      for (const f of features) columns[f]!.push(Object.hasOwn(record, f) ? scalar(record[f]) : null);
      predictions.push(predictedValue(outputs[i]));
      used++;
    }
    if (used === 0) continue;
    rows += used;
    requests++;
    to ??= call.servedAt;
    from = call.servedAt;
  }
  return { columns, predictions, rows, requests, hashedRequests, from, to };
}
