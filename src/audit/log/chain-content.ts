/**
 * THE definition of what each audit record's hash covers — used by the writer (to compute hashes)
 * and by the verifier (to recompute them from the rows read back), so the two cannot disagree.
 *
 * The content is every stored column except `prev_hash` and `hash`, under the API's camelCase names,
 * with timestamps as ISO 8601 strings (UTC, millisecond precision: the writer stores JS Dates, so
 * they round-trip exactly), `seq` as a number, jsonb columns and `error` with their strings unescaped
 * (rows store them escaped, see chain/json-safe.ts: the content is what the model received), and
 * `clientRequestId` only when the row has one (records from before that column hash as they did).
 * A record's API / export form is its content plus `prevHash` and `hash`, so anyone can re-verify
 * an export offline: hash = SHA-256_hex(prevHash + RFC 8785 canonical JSON of the line without
 * prevHash and hash).
 */
import { canonicalJson, unescapeStrings, unescapeText } from '../chain';

/** A row of `audit_predictions` as read back (raw SQL with PREDICTION_COLUMNS, or the entity). */
export interface StoredPrediction {
  seq: string | number;
  loggedAt: Date;
  requestId: string;
  /** The id the client sent (x-request-id, OIP `id`); not unique. */
  clientRequestId: string | null;
  servedAt: Date;
  callerKeyId: string | null;
  model: string;
  modelVersion: number | null;
  route: string;
  kind: string;
  canary: boolean;
  status: number;
  latencyMs: number;
  rows: number;
  inputs: unknown;
  inputsSha256: string;
  outputs: unknown;
  error: string | null;
  prevHash: string;
  hash: string;
}

/** A row of `audit_events` as read back. */
export interface StoredEvent {
  seq: string | number;
  eventId: string;
  at: Date;
  loggedAt: Date;
  requestId: string | null;
  actorKeyId: string | null;
  action: string;
  target: unknown;
  before: unknown;
  after: unknown;
  prevHash: string;
  hash: string;
}

/** SELECT list giving StoredPrediction-shaped rows. */
export const PREDICTION_COLUMNS = `seq, logged_at AS "loggedAt", request_id AS "requestId",
  client_request_id AS "clientRequestId", served_at AS "servedAt",
  caller_key_id AS "callerKeyId", model, model_version AS "modelVersion", route, kind, canary, status,
  latency_ms AS "latencyMs", rows, inputs, inputs_sha256 AS "inputsSha256", outputs, error, prev_hash AS "prevHash", hash`;

/** SELECT list giving StoredEvent-shaped rows. */
export const EVENT_COLUMNS = `seq, event_id AS "eventId", at, logged_at AS "loggedAt", request_id AS "requestId",
  actor_key_id AS "actorKeyId", action, target, before, after, prev_hash AS "prevHash", hash`;

const iso = (d: Date | string): string => new Date(d).toISOString();
/** double precision may hold NaN / ±Infinity, which have no JSON form. */
const jsonNumber = (n: number): number | string => (Number.isFinite(n) ? n : String(n));

export function predictionContent(p: Omit<StoredPrediction, 'prevHash' | 'hash'>) {
  return {
    seq: Number(p.seq),
    loggedAt: iso(p.loggedAt),
    requestId: p.requestId,
    ...(p.clientRequestId != null ? { clientRequestId: p.clientRequestId } : {}),
    servedAt: iso(p.servedAt),
    callerKeyId: p.callerKeyId,
    model: p.model,
    version: p.modelVersion,
    route: p.route,
    kind: p.kind,
    canary: p.canary,
    status: p.status,
    latencyMs: jsonNumber(p.latencyMs),
    rows: p.rows,
    inputs: unescapeStrings(p.inputs ?? null),
    inputsSha256: p.inputsSha256,
    outputs: unescapeStrings(p.outputs ?? null),
    error: p.error === null ? null : unescapeText(p.error),
  };
}

/**
 * canonicalJson(predictionContent(p)), reusing the canonical JSON of the unescaped inputs when the
 * caller has it (the writer computed it for inputsSha256): the inputs are canonicalised once.
 * RFC 8785 serialises a member's value independently of its siblings, so the record's canonical
 * text with `"inputs":null` is that of the real content once the canonical inputs are put in their
 * place; no other member can hold that text (every quote inside a JSON string is escaped, and the
 * members sorted before `inputs` are strings).
 */
export function predictionCanonical(p: Omit<StoredPrediction, 'prevHash' | 'hash'>, inputsCanonical?: string): string {
  if (inputsCanonical === undefined || p.inputs === null || p.inputs === undefined) return canonicalJson(predictionContent(p));
  const skeleton = canonicalJson(predictionContent({ ...p, inputs: null }));
  const at = skeleton.indexOf(INPUTS_NULL);
  if (at < 0) throw new Error('predictionCanonical: no inputs member');
  return skeleton.slice(0, at) + '"inputs":' + inputsCanonical + skeleton.slice(at + INPUTS_NULL.length);
}
const INPUTS_NULL = '"inputs":null';

export function eventContent(e: Omit<StoredEvent, 'prevHash' | 'hash'>) {
  return {
    seq: Number(e.seq),
    eventId: e.eventId,
    at: iso(e.at),
    loggedAt: iso(e.loggedAt),
    requestId: e.requestId,
    actorKeyId: e.actorKeyId,
    action: e.action,
    target: unescapeStrings(e.target ?? null),
    before: unescapeStrings(e.before ?? null),
    after: unescapeStrings(e.after ?? null),
  };
}

export type PredictionContent = ReturnType<typeof predictionContent>;
export type EventContent = ReturnType<typeof eventContent>;

/** The API / export form of a stored prediction record. */
export function predictionDto(p: StoredPrediction): PredictionContent & { prevHash: string; hash: string } {
  return { ...predictionContent(p), prevHash: p.prevHash, hash: p.hash };
}

/** The API / export form of a stored admin event. */
export function eventDto(e: StoredEvent): EventContent & { prevHash: string; hash: string } {
  return { ...eventContent(e), prevHash: e.prevHash, hash: e.hash };
}
