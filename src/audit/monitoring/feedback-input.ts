/**
 * Parsing and validation of `POST /api/feedback` bodies (pure; the service adds the database).
 *
 * Body: `{requestId, actual}` or `{items: [{requestId, actual}, …]}` (1…1000 items). `actual` is the
 * ground truth of the request's record, or an array with one value per record for a request that
 * scored several records (a one-record request accepts the bare value or a one-element array).
 * Classification: the class label; numbers and booleans are stringified like training labels
 * (String(v)) and must be one of the version's classes. Regression: a finite number.
 * Stored normalised: always an array of label strings or numbers.
 */
import type { FieldError } from '../../platform/http/problem-details';
import { NUL_REASON, nulFieldIn } from '../../platform/http/stored-strings';

export const MAX_FEEDBACK_ITEMS = 1000;
const MAX_REQUEST_ID = 200;

export interface FeedbackItem {
  /** `items.3` for a batch, '' for a single `{requestId, actual}` body: prefix of error fields. */
  path: string;
  requestId: string;
  actual: unknown;
}

/** What `actual` is checked against: the task of the version that answered. */
export interface LabelSpec {
  task: 'binary' | 'multiclass' | 'regression';
  /** Classification: the version's class labels. */
  classes?: string[];
  /** Binary: the class whose probability is the stored `score` (default: classes[1]). */
  positiveClass?: string;
}

export type Normalised = string[] | number[];

function field(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseItem(v: unknown, path: string, errors: FieldError[]): FeedbackItem | null {
  if (!isObject(v)) {
    errors.push({ field: path || 'body', reason: 'must be an object {requestId, actual}' });
    return null;
  }
  const before = errors.length;
  for (const k of Object.keys(v))
    if (k !== 'requestId' && k !== 'actual')
      errors.push({ field: field(path, k), reason: 'is not a known property (expected requestId and actual)' });
  const { requestId, actual } = v;
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > MAX_REQUEST_ID) {
    errors.push({ field: field(path, 'requestId'), reason: `must be a string of 1 to ${MAX_REQUEST_ID} characters` });
  }
  if (actual === undefined || actual === null)
    errors.push({ field: field(path, 'actual'), reason: 'is required (the true label or value)' });
  const nul = nulFieldIn({ requestId, actual }, path);
  if (nul !== null) errors.push({ field: nul, reason: NUL_REASON });
  return errors.length === before ? { path, requestId: requestId as string, actual } : null;
}

/** The items of a body; a 400's field errors when the shape is wrong (all of them, not just the first). */
export function parseFeedbackBody(body: unknown): { items: FeedbackItem[]; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!isObject(body))
    return { items: [], errors: [{ field: 'body', reason: 'must be a JSON object {requestId, actual} or {items: [...]}' }] };
  if (!('items' in body)) {
    const item = parseItem(body, '', errors);
    return { items: item ? [item] : [], errors };
  }
  const extra = Object.keys(body).filter((k) => k !== 'items');
  if (extra.length)
    return {
      items: [],
      errors: extra.map((k) => ({ field: k, reason: 'is not a known property (give items alone, or requestId and actual)' })),
    };
  const list = body.items;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_FEEDBACK_ITEMS) {
    return { items: [], errors: [{ field: 'items', reason: `must be an array of 1 to ${MAX_FEEDBACK_ITEMS} items` }] };
  }
  const items: FeedbackItem[] = [];
  const seen = new Map<string, number>();
  list.forEach((v, i) => {
    const item = parseItem(v, `items.${i}`, errors);
    if (!item) return;
    const first = seen.get(item.requestId);
    if (first !== undefined)
      errors.push({ field: `items.${i}.requestId`, reason: `repeats items.${first}.requestId; label each request once per call` });
    else seen.set(item.requestId, i);
    items.push(item);
  });
  return { items, errors };
}

function normaliseOne(v: unknown, spec: LabelSpec, f: string): string | number | FieldError {
  if (spec.task === 'regression') {
    if (typeof v !== 'number' || !Number.isFinite(v)) return { field: f, reason: 'must be a finite number (the model is a regression)' };
    return v;
  }
  if (typeof v === 'number' && !Number.isFinite(v))
    return { field: f, reason: 'must be a class label (a string, or a finite number or boolean)' };
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
    return { field: f, reason: 'must be a class label (a string, or a number or boolean)' };
  const label = String(v);
  const classes = spec.classes ?? [];
  if (!classes.includes(label)) {
    const shown = classes
      .slice(0, 20)
      .map((c) => `'${c}'`)
      .join(', ');
    return {
      field: f,
      reason: `'${label.slice(0, 60)}' is not a class of this model version (classes: ${shown}${classes.length > 20 ? ', …' : ''})`,
    };
  }
  return label;
}

/**
 * `actual` of one item → one normalised value per record, or the field errors. `rows` is the number
 * of records the logged request scored.
 */
export function normaliseActual(item: FeedbackItem, spec: LabelSpec, rows: number): { value: Normalised } | { errors: FieldError[] } {
  const f = field(item.path, 'actual');
  let values: unknown[];
  if (Array.isArray(item.actual)) {
    if (item.actual.length !== rows) {
      return {
        errors: [
          {
            field: f,
            reason:
              `has ${item.actual.length} values but the request scored ${rows} record${rows === 1 ? '' : 's'}; ` +
              `give one per record, in order`,
          },
        ],
      };
    }
    values = item.actual;
  } else {
    if (rows !== 1)
      return { errors: [{ field: f, reason: `the request scored ${rows} records: give an array with one value per record, in order` }] };
    values = [item.actual];
  }
  const out: Array<string | number> = [];
  const errors: FieldError[] = [];
  values.forEach((v, i) => {
    const r = normaliseOne(v, spec, Array.isArray(item.actual) ? `${f}.${i}` : f);
    if (typeof r === 'object') errors.push(r);
    else out.push(r);
  });
  return errors.length ? { errors } : { value: out as Normalised };
}
