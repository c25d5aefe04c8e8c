/**
 * Checks and normalises the records of an `audit.record-batch` job (shapes in src/contracts/audit.ts)
 * into what the writer stores: timestamps as Dates (ms), text and jsonb values in their stored form
 * (escaped strings, see chain/json-safe.ts and stored-json.ts). A record that breaks the contract
 * (the producer is Kiln's own AuditSink) is an IncomingRecordError naming the record and field:
 * retrying cannot fix it.
 */
import { createHash } from 'node:crypto';
import type { AdminEventRecord, AuditPredictionRecord } from '../../contracts';
import type { StoredEvent, StoredPrediction } from './chain-content';
import { canonicalJson, unescapeStrings } from '../chain';
import { cleanText, storedJson, storedParsedJson, type StoredJson } from './stored-json';

export class IncomingRecordError extends Error {}

/** A prediction record ready to be chained: everything but seq, loggedAt and the hashes. */
export type NewPrediction = Omit<StoredPrediction, 'seq' | 'loggedAt' | 'prevHash' | 'hash'> & {
  inputsJson: string | null;
  outputsJson: string | null;
  /** canonicalJson(unescapeStrings(inputs)) when it was computed here (for inputsSha256): the chain hash reuses it. */
  inputsCanonical?: string;
  /** canonicalJson(unescapeStrings(outputs)) when it came for free (outputsJson, nothing escaped): the chain hash reuses it. */
  outputsCanonical?: string;
};

/** An admin event ready to be chained. */
export type NewEvent = Omit<StoredEvent, 'seq' | 'loggedAt' | 'prevHash' | 'hash'> & {
  targetJson: string;
  beforeJson: string | null;
  afterJson: string | null;
};

const ROUTES = ['record', 'recommend', 'tfserving', 'oip', 'oip-grpc', 'batch'];
const KINDS = ['live', 'shadow', 'batch'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHA256 = /^[0-9a-f]{64}$/;

class FieldReader {
  constructor(
    private readonly where: string,
    private readonly obj: Record<string, unknown>,
  ) {}

  fail(field: string, reason: string): never {
    throw new IncomingRecordError(`${this.where}.${field}: ${reason}`);
  }

  text(field: string, maxLength: number, nullable: false): string;
  text(field: string, maxLength: number, nullable: true): string | null;
  text(field: string, maxLength: number, nullable: boolean): string | null {
    const v = this.obj[field];
    if ((v === null || v === undefined) && nullable) return null;
    if (typeof v !== 'string') return this.fail(field, `must be a string, got ${v === null ? 'null' : typeof v}`);
    const s = cleanText(v);
    if (!nullable && s.length === 0) this.fail(field, 'must not be empty');
    if (s.length > maxLength) this.fail(field, `is longer than ${maxLength} characters`);
    return s;
  }

  oneOf(field: string, allowed: string[]): string {
    const v = this.obj[field];
    if (typeof v !== 'string' || !allowed.includes(v)) this.fail(field, `must be one of ${allowed.join(', ')}`);
    return v;
  }

  time(field: string): Date {
    const v = this.obj[field];
    const d = typeof v === 'string' || v instanceof Date ? new Date(v) : null;
    if (!d || Number.isNaN(d.getTime())) this.fail(field, 'must be an ISO 8601 time');
    return d;
  }

  int(field: string, min: number, max: number, nullable = false): number | null {
    const v = this.obj[field];
    if ((v === null || v === undefined) && nullable) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(field, `must be an integer in [${min}, ${max}]`);
    return v;
  }

  number(field: string): number {
    const v = this.obj[field];
    if (typeof v !== 'number') this.fail(field, 'must be a number');
    return v;
  }

  bool(field: string): boolean {
    const v = this.obj[field];
    if (typeof v !== 'boolean') this.fail(field, 'must be a boolean');
    return v;
  }

  matching(field: string, pattern: RegExp, what: string): string {
    const v = this.obj[field];
    const s = typeof v === 'string' ? v.toLowerCase() : '';
    if (!pattern.test(s)) this.fail(field, `must be ${what}`);
    return s;
  }
}

function reader(where: string, value: unknown): FieldReader {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new IncomingRecordError(`${where}: must be an object`);
  return new FieldReader(where, value as Record<string, unknown>);
}

/** `parsedJson`: the record comes straight from JSON.parse (a staged batch), so its payloads need no JSON-safe pass. */
export function normalizePrediction(record: AuditPredictionRecord, index: number, parsedJson = false): NewPrediction {
  const r = reader(`predictions[${index}]`, record);
  const stored: (v: unknown) => StoredJson & { canonical?: string } = parsedJson ? storedParsedJson : storedJson;
  const inputs = stored(record.inputs);
  const outputs = stored(record.outputs);
  // Producers that keep the inputs leave the hash to the writer (off the request path): SHA-256 of
  // the canonical JSON (RFC 8785) of the inputs as the model received them (unescaped), as a
  // producer computes it; canonical, so the queue backend's key order (jsonb) cannot change it.
  const inputsCanonical =
    record.inputsSha256 == null && inputs.text !== null ? (inputs.canonical ?? canonicalJson(unescapeStrings(inputs.value))) : undefined;
  return {
    requestId: r.text('requestId', 200, false),
    clientRequestId: r.text('clientRequestId', 200, true),
    servedAt: r.time('servedAt'),
    callerKeyId: r.text('callerKeyId', 64, true),
    model: r.text('model', 128, false),
    modelVersion: r.int('version', 0, 2_147_483_647, true),
    route: r.oneOf('route', ROUTES),
    kind: r.oneOf('kind', KINDS),
    canary: r.bool('canary'),
    status: r.int('status', 100, 599) as number,
    latencyMs: r.number('latencyMs'),
    rows: r.int('rows', 0, 2_147_483_647) as number,
    inputs: inputs.value,
    inputsJson: inputs.text,
    inputsSha256:
      inputsCanonical !== undefined
        ? createHash('sha256').update(inputsCanonical).digest('hex')
        : r.matching('inputsSha256', SHA256, '64 hex digits (SHA-256)'),
    inputsCanonical,
    outputs: outputs.value,
    outputsJson: outputs.text,
    outputsCanonical: outputs.canonical,
    error: r.text('error', Number.MAX_SAFE_INTEGER, true),
  };
}

export function normalizeEvent(record: AdminEventRecord, index: number): NewEvent {
  const r = reader(`events[${index}]`, record);
  const target = storedJson(record.target);
  if (target.value === null || typeof target.value !== 'object' || Array.isArray(target.value)) r.fail('target', 'must be an object');
  const before = storedJson(record.before);
  const after = storedJson(record.after);
  return {
    eventId: r.matching('eventId', UUID, 'a UUID'),
    at: r.time('at'),
    requestId: r.text('requestId', 200, true),
    actorKeyId: r.text('actorKeyId', 64, true),
    action: r.text('action', 100, false),
    target: target.value,
    targetJson: target.text as string,
    before: before.value,
    beforeJson: before.text,
    after: after.value,
    afterJson: after.text,
  };
}
