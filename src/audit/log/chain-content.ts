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

let lastDate: Date | null = null;
let lastIso = '';
/** ISO 8601 of a timestamp; the same Date object again (a chainer pass's loggedAt) is formatted once. */
const iso = (d: Date | string): string => {
  if (d === lastDate) return lastIso;
  const text = new Date(d).toISOString();
  if (d instanceof Date) [lastDate, lastIso] = [d, text];
  return text;
};
/** double precision may hold NaN / ±Infinity, which have no JSON form. */
const jsonNumber = (n: number): number | string => (Number.isFinite(n) ? n : String(n));

type PredictionFields = Omit<StoredPrediction, 'prevHash' | 'hash'>;

export function predictionContent(p: PredictionFields) {
  return contentOf(p, true, true);
}

/** predictionContent, with `inputs` / `outputs` left null when not wanted (their canonical text is known). */
function contentOf(p: PredictionFields, withInputs: boolean, withOutputs: boolean, at?: ChainPosition) {
  return {
    seq: Number(at ? at.seq : p.seq),
    loggedAt: iso(at ? at.loggedAt : p.loggedAt),
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
    inputs: withInputs ? unescapeStrings(p.inputs ?? null) : null,
    inputsSha256: p.inputsSha256,
    outputs: withOutputs ? unescapeStrings(p.outputs ?? null) : null,
    error: p.error === null ? null : unescapeText(p.error),
  };
}

/** Every member predictionContent can have, by UTF-16 code units (RFC 8785 §3.2.3), with its JSON name. */
const SORTED_MEMBERS = Object.keys(
  contentOf({ clientRequestId: 'x', loggedAt: new Date(0), servedAt: new Date(0), error: null } as PredictionFields, false, false),
)
  .sort()
  .map((key) => [key, JSON.stringify(key) + ':'] as const);

/** Canonical JSON (of the unescaped values) the caller already has, so they are not serialised twice. */
export interface KnownCanonical {
  inputs?: string;
  outputs?: string;
}

/**
 * canonicalJson(predictionContent(p)), reusing the canonical JSON of the unescaped inputs / outputs
 * when the caller has it (the writer computed it while checking the record: incoming-records.ts), in
 * one pass over the record's members in their canonical order. RFC 8785 serialises a member's value
 * independently of its siblings, so a member's canonical text put in its place is the canonical text
 * of the whole.
 */
export function predictionCanonical(p: PredictionFields, known: KnownCanonical = {}): string {
  return canonicalAt(p, known);
}

/** Where a record goes in its chain (the writer's view before the row exists). */
export interface ChainPosition {
  seq: number;
  loggedAt: Date;
}

/** predictionCanonical of a new record at `at` (its own seq and loggedAt ignored): no copy of the record per call. */
export function predictionCanonicalAt(
  p: Omit<PredictionFields, 'seq' | 'loggedAt'>,
  at: ChainPosition,
  known: KnownCanonical = {},
): string {
  return canonicalAt(p as PredictionFields, known, at);
}

function canonicalAt(p: PredictionFields, known: KnownCanonical, at?: ChainPosition): string {
  const inputs = p.inputs === null || p.inputs === undefined ? undefined : known.inputs;
  const outputs = p.outputs === null || p.outputs === undefined ? undefined : known.outputs;
  const content: Record<string, unknown> = contentOf(p, inputs === undefined, outputs === undefined, at);
  let out = '{';
  for (const [key, name] of SORTED_MEMBERS) {
    const value = content[key];
    if (value === undefined) continue;
    if (out.length > 1) out += ',';
    const text = key === 'inputs' ? inputs : key === 'outputs' ? outputs : undefined;
    out += name + (text ?? canonicalJson(value));
  }
  return out + '}';
}

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
