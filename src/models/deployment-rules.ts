/**
 * The rules a deployment and serving settings must follow, checked before anything touches the
 * database: shapes, bounds and defaults. Pure, so the HTTP layer and direct callers (other domains,
 * tests) get the same 400s naming the field.
 */
import type { FieldError } from '../platform/http/problem-details';
import { versionSelectorErrors } from './version-selector';

export const MAX_ROUTES = 10;
/** Weights are relative; the cap keeps their sum finite (1e6 still allows a one-in-a-million canary). */
export const MAX_ROUTE_WEIGHT = 1_000_000;

/** One route of a deployment request: exactly one of `version` or `alias`, and a relative weight. */
export interface RouteInput {
  version?: number | null;
  alias?: string | null;
  weight: number;
}

export interface DeploymentInput {
  routes: RouteInput[];
  /** Version number that receives a copy of every request (answers are discarded); null/absent: none. */
  shadow?: number | null;
}

/**
 * Which engine serves a model's Kiln-trained versions: `tfjs` (the default; the TF.js artifact),
 * `onnxruntime` (the ONNX graph exported from it at registration), or `auto` (ONNX Runtime when the
 * version has a graph, else TF.js). Imported ONNX graphs always run on ONNX Runtime, imported TF.js
 * models on TF.js.
 */
export type ServingEnginePreference = 'tfjs' | 'onnxruntime' | 'auto';
export const SERVING_ENGINES: readonly ServingEnginePreference[] = ['tfjs', 'onnxruntime', 'auto'];

/** Dynamic batching knobs and the engine of one model, as the inference runtime applies them. */
export interface ServingSettings {
  engine: ServingEnginePreference;
  /** Largest batch one model call runs; 1 turns batching off. */
  maxBatchSize: number;
  /** How long the first queued request may wait for others to join its batch (0: batch what queued while the previous batch ran). */
  maxQueueDelayMs: number;
  /** Requests waiting per model version; past it, 503. */
  maxQueueSize: number;
  /** A request not answered within this (queue wait + compute) gets 503. */
  timeoutMs: number;
}

export const SERVING_DEFAULTS: Readonly<ServingSettings> = Object.freeze({
  engine: 'tfjs',
  maxBatchSize: 32,
  maxQueueDelayMs: 0,
  maxQueueSize: 1024,
  timeoutMs: 5000,
});

export type BatchingKey = Exclude<keyof ServingSettings, 'engine'>;

export const SERVING_BOUNDS: Readonly<Record<BatchingKey, { min: number; max: number }>> = Object.freeze({
  maxBatchSize: { min: 1, max: 1024 },
  maxQueueDelayMs: { min: 0, max: 1000 },
  maxQueueSize: { min: 1, max: 100_000 },
  timeoutMs: { min: 1, max: 120_000 },
});

const present = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;
const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

/** Every structural problem of a deployment request (empty when it may go on to the database checks). */
export function deploymentInputErrors(input: DeploymentInput): FieldError[] {
  const routes: unknown = input?.routes;
  if (!Array.isArray(routes)) return [{ field: 'routes', reason: 'must be an array of {version | alias, weight}' }];
  if (routes.length === 0) return [{ field: 'routes', reason: 'needs at least one route' }];
  if (routes.length > MAX_ROUTES) return [{ field: 'routes', reason: `at most ${MAX_ROUTES} routes` }];
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  routes.forEach((r: RouteInput, i) => {
    const at = `routes.${i}`;
    if (typeof r !== 'object' || r === null) {
      errors.push({ field: at, reason: 'must be an object {version | alias, weight}' });
      return;
    }
    // A route needs a selector (the API default has no meaning here): neither or both is the route's fault.
    const selectorErrors = present(r.version) === present(r.alias) ? [] : versionSelectorErrors(r, { at: `${at}.` });
    if (present(r.version) === present(r.alias)) errors.push({ field: at, reason: 'give exactly one of version or alias' });
    else if (selectorErrors.length) errors.push(...selectorErrors);
    else {
      const key = present(r.version) ? `version ${r.version}` : `alias ${r.alias}`;
      const first = seen.get(key);
      if (first !== undefined) errors.push({ field: at, reason: `routes.${first} already routes to ${key}` });
      else seen.set(key, i);
    }
    if (typeof r.weight !== 'number' || !Number.isFinite(r.weight) || r.weight <= 0 || r.weight > MAX_ROUTE_WEIGHT) {
      errors.push({ field: `${at}.weight`, reason: `must be a finite number > 0 and ≤ ${MAX_ROUTE_WEIGHT} (weights are relative)` });
    }
  });
  if (present(input.shadow) && !isPositiveInt(input.shadow))
    errors.push({ field: 'shadow', reason: 'must be a version number (integer ≥ 1) or null' });
  return errors;
}

/** Every problem of a (partial) serving settings update. */
export function servingInputErrors(input: Partial<ServingSettings>): FieldError[] {
  const errors: FieldError[] = (Object.keys(SERVING_BOUNDS) as BatchingKey[]).flatMap((field) => {
    const v = input[field];
    if (v === undefined) return [];
    const { min, max } = SERVING_BOUNDS[field];
    return Number.isInteger(v) && v >= min && v <= max ? [] : [{ field, reason: `must be an integer from ${min} to ${max}` }];
  });
  if (input.engine !== undefined && !SERVING_ENGINES.includes(input.engine))
    errors.push({ field: 'engine', reason: `must be one of ${SERVING_ENGINES.join(', ')}` });
  return errors;
}
