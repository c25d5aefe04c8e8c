/**
 * Triton's Open Inference Protocol extensions that Kiln implements, as pure codecs:
 *
 *  - `model_repository`: `POST /v2/repository/index` {ready?}, `POST /v2/repository/models/{m}/load`
 *    and `…/unload` {parameters?} (docs/protocol/extension_model_repository.md of triton-inference-server/server);
 *  - `model_configuration`: `GET /v2/models/{m}[/versions/{v}]/config`, the model's configuration in
 *    the JSON form of Triton's `ModelConfig` message (model_config.proto), built from the signature and
 *    the model's serving settings;
 *  - `statistics`: `GET /v2/models[/{m}[/versions/{v}]]/stats` → `{"model_stats": [...]}`.
 *
 * Error texts follow Triton's where its clients or tests look for them ("Invalid value for 'ready':
 * expected a boolean", "failed to load '<model>'…").
 */
import { BadRequestException } from '@nestjs/common';
import { SERVING_BOUNDS, type BatchingKey, type ServingSettings } from '../../models';
import type { BatchingSettings } from '../runtime/dynamic-batcher';
import type { ServedModel, TensorDtype, TensorSpec } from '../runtime/served-model';
import type { RouteMethods } from './route-methods';
import { isPlainObject } from './tensor-values';

/** Names as Triton reports them in the server metadata's `extensions`. */
export const OIP_EXTENSIONS = ['model_repository', 'model_configuration', 'statistics', 'system_shared_memory', 'trace'] as const;

/** The extension routes and their methods (for 405 answers). */
export const OIP_EXTENSION_ROUTES: RouteMethods[] = [
  { pattern: /^\/v2\/models\/stats$/, methods: ['GET'] },
  { pattern: /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/(stats|config)$/, methods: ['GET'] },
  { pattern: /^\/v2\/repository\/index$/, methods: ['POST'] },
  { pattern: /^\/v2\/repository\/models\/[^/]+\/(load|unload)$/, methods: ['POST'] },
  { pattern: /^\/v2\/(system|cuda)sharedmemory(\/region\/[^/]+)?\/status$/, methods: ['GET'] },
  { pattern: /^\/v2\/(system|cuda)sharedmemory\/region\/[^/]+\/register$/, methods: ['POST'] },
  { pattern: /^\/v2\/(system|cuda)sharedmemory(\/region\/[^/]+)?\/unregister$/, methods: ['POST'] },
  { pattern: /^\/v2\/(models\/[^/]+\/)?trace\/setting$/, methods: ['GET', 'POST'] },
];

/** An absent or empty body counts as `{}` (Triton's clients send index and load requests without one). */
function bodyObject(body: unknown, shape: string): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (!isPlainObject(body)) throw new BadRequestException(`body: must be a JSON object ${shape}`);
  return body;
}

/** `{ready?: boolean}`: true lists only the versions ready for inference. */
export function parseRepositoryIndexRequest(body: unknown): { ready: boolean } {
  const b = bodyObject(body, '{ready?}');
  if (b.ready === undefined) return { ready: false };
  if (typeof b.ready !== 'boolean') throw new BadRequestException("Invalid value for 'ready': expected a boolean");
  return { ready: b.ready };
}

/**
 * `{parameters?}` of a load request. Triton's `config` parameter (a ModelConfig as JSON text) may
 * override what Kiln's configuration takes from the model's serving settings: `max_batch_size`,
 * `dynamic_batching.max_queue_delay_microseconds` (whole milliseconds) and
 * `dynamic_batching.default_queue_policy.{default_timeout_microseconds, max_queue_size}` (Triton's JSON
 * writes 64-bit integers as strings; both forms are read). Those become the model's serving settings,
 * for every replica (Triton keeps an override until the next load; Kiln's versions and settings live in
 * the registry). Anything else in `config` (the signature, the platform…), and Triton's
 * `file:<version>/<name>` parameters, cannot be overridden: Kiln's versions are immutable registry
 * entries (import a new version instead): 400 naming the field.
 */
export function parseLoadRequest(name: string, body: unknown): { serving: Partial<ServingSettings> | null } {
  const b = bodyObject(body, '{parameters?}');
  if (b.parameters === undefined) return { serving: null };
  if (!isPlainObject(b.parameters)) throw new BadRequestException(`failed to load '${name}': parameters: must be an object`);
  let serving: Partial<ServingSettings> | null = null;
  for (const [key, value] of Object.entries(b.parameters)) {
    if (key === 'config') serving = parseConfigOverride(name, value);
    else if (key.startsWith('file:')) {
      throw new BadRequestException(
        `failed to load '${name}': parameters.${key.slice(0, 60)}: model files cannot be sent with a load; ` +
          `import them as a new version (POST /api/models/${name}/versions)`,
      );
    } else
      throw new BadRequestException(`failed to load '${name}': parameters.${key.slice(0, 60)}: unknown parameter (config is the only one)`);
  }
  return { serving };
}

/** The serving settings a load's `config` override asks for (see parseLoadRequest). */
function parseConfigOverride(name: string, value: unknown): Partial<ServingSettings> {
  const fail = (field: string, reason: string): never => {
    throw new BadRequestException(`failed to load '${name}': parameters.config${field}: ${reason}`);
  };
  if (typeof value !== 'string') fail('', 'must be a string holding the model configuration as JSON');
  let config: unknown;
  try {
    config = JSON.parse(value as string);
  } catch (e) {
    return fail('', `not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(config)) return fail('', 'must be a JSON object (a ModelConfig)');
  const out: Partial<ServingSettings> = {};
  const integer = (v: unknown, field: string, key: BatchingKey, scale = 1): void => {
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) return fail(field, `must be an integer, got ${JSON.stringify(v)?.slice(0, 40)}`);
    if (n % scale !== 0) return fail(field, `must be a whole number of milliseconds (a multiple of ${scale})`);
    const { min, max } = SERVING_BOUNDS[key];
    const scaled = n / scale;
    if (scaled < min || scaled > max) return fail(field, `must be between ${min * scale} and ${max * scale}`);
    out[key] = scaled;
  };
  for (const [key, v] of Object.entries(config)) {
    if (key === 'name') {
      if (v !== name) fail('.name', `is '${String(v).slice(0, 60)}'; a load cannot rename model '${name}'`);
    } else if (key === 'max_batch_size') integer(v, '.max_batch_size', 'maxBatchSize');
    else if (key === 'dynamic_batching') {
      if (!isPlainObject(v)) return fail('.dynamic_batching', 'must be an object');
      for (const [dk, dv] of Object.entries(v)) {
        if (dk === 'max_queue_delay_microseconds') integer(dv, `.dynamic_batching.${dk}`, 'maxQueueDelayMs', 1000);
        else if (dk === 'default_queue_policy') {
          if (!isPlainObject(dv)) return fail(`.dynamic_batching.${dk}`, 'must be an object');
          for (const [qk, qv] of Object.entries(dv)) {
            const field = `.dynamic_batching.default_queue_policy.${qk}`;
            if (qk === 'default_timeout_microseconds') integer(qv, field, 'timeoutMs', 1000);
            else if (qk === 'max_queue_size') integer(qv, field, 'maxQueueSize');
            else fail(field.slice(0, 120), 'cannot be overridden (Kiln: default_timeout_microseconds and max_queue_size)');
          }
        } else
          fail(
            `.dynamic_batching.${dk.slice(0, 60)}`,
            'cannot be overridden (Kiln: max_queue_delay_microseconds and default_queue_policy)',
          );
      }
    } else {
      fail(
        `.${key.slice(0, 60)}`,
        'cannot be overridden: a version is an immutable registry entry (import a new version); ' +
          'a load may change max_batch_size and dynamic_batching only',
      );
    }
  }
  return out;
}

/** `{parameters?: {unload_dependents?: boolean}}` (Kiln has no ensembles, so there are never dependents). */
export function parseUnloadRequest(body: unknown): void {
  const b = bodyObject(body, '{parameters?}');
  if (b.parameters === undefined) return;
  if (!isPlainObject(b.parameters)) throw new BadRequestException('parameters: must be an object');
  const ud = b.parameters.unload_dependents;
  if (ud !== undefined && typeof ud !== 'boolean') {
    throw new BadRequestException("Unable to parse 'unload_dependents': expected a boolean");
  }
}

const TRITON_TYPE: Record<TensorDtype, string> = {
  float32: 'TYPE_FP32',
  int32: 'TYPE_INT32',
  bool: 'TYPE_BOOL',
  string: 'TYPE_STRING',
  int64: 'TYPE_INT64',
  float64: 'TYPE_FP64',
};

/** Triton's `ModelConfig` (JSON) of one served version. */
export interface TritonModelConfig {
  name: string;
  platform: string;
  backend: string;
  version_policy: { specific: { versions: number[] } };
  max_batch_size: number;
  input: Array<{ name: string; data_type: string; format: 'FORMAT_NONE'; dims: number[] }>;
  output: Array<{ name: string; data_type: string; dims: number[]; label_filename: string }>;
  dynamic_batching?: {
    preferred_batch_size: number[];
    max_queue_delay_microseconds: number;
    preserve_ordering: boolean;
    default_queue_policy: {
      timeout_action: 'REJECT';
      default_timeout_microseconds: number;
      allow_timeout_override: boolean;
      max_queue_size: number;
    };
  };
  instance_group: Array<{ name: string; kind: 'KIND_CPU' | 'KIND_GPU'; count: number }>;
  parameters: Record<string, { string_value: string }>;
  model_warmup: Array<{
    name: string;
    batch_size: number;
    inputs: Record<string, { data_type: string; dims: number[]; zero_data: boolean }>;
    count: number;
  }>;
}

/**
 * The configuration Triton would show for this version. `max_batch_size` is the model's
 * `maxBatchSize` serving setting and `dims` leave out the batch dimension, as Triton's do for a
 * batching model; a signature whose tensors do not all start with a variable batch dimension is
 * shown as non-batching (`max_batch_size` 0, full dims). The dynamic batcher's knobs map onto
 * `dynamic_batching` (delay and timeout in microseconds); Kiln's warm-up (one batch of zeros at load)
 * is the `model_warmup` entry. One instance: a process runs one batch of a model at a time.
 */
export function modelConfig(model: ServedModel, settings: BatchingSettings, gpu: boolean): TritonModelConfig {
  const batched = [...model.inputs, ...model.outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
  const dims = (t: TensorSpec) => (batched ? t.shape.slice(1) : [...t.shape]);
  return {
    name: model.name,
    platform: model.platform,
    // Triton's backend for an ONNX graph is `onnxruntime`; TF.js has no Triton backend of its own name
    backend: model.platform === 'onnxruntime_onnx' ? 'onnxruntime' : 'tensorflowjs',
    version_policy: { specific: { versions: [model.version] } },
    max_batch_size: batched ? settings.maxBatchSize : 0,
    input: model.inputs.map((t) => ({ name: t.name, data_type: TRITON_TYPE[t.dtype], format: 'FORMAT_NONE', dims: dims(t) })),
    output: model.outputs.map((t) => ({ name: t.name, data_type: TRITON_TYPE[t.dtype], dims: dims(t), label_filename: '' })),
    ...(batched
      ? {
          dynamic_batching: {
            preferred_batch_size: [],
            max_queue_delay_microseconds: settings.maxQueueDelayMs * 1000,
            preserve_ordering: true,
            default_queue_policy: {
              timeout_action: 'REJECT' as const,
              default_timeout_microseconds: settings.timeoutMs * 1000,
              allow_timeout_override: false,
              max_queue_size: settings.maxQueueSize,
            },
          },
        }
      : {}),
    instance_group: [{ name: model.name, kind: gpu ? 'KIND_GPU' : 'KIND_CPU', count: 1 }],
    parameters: { kiln_source: { string_value: model.source }, kiln_format: { string_value: model.format } },
    model_warmup: [
      {
        name: 'zeros',
        batch_size: batched ? 1 : 0,
        inputs: Object.fromEntries(
          model.inputs.map((t) => [
            t.name,
            { data_type: TRITON_TYPE[t.dtype], dims: dims(t).map((d) => (d < 0 ? 1 : d)), zero_data: true },
          ]),
        ),
        count: 1,
      },
    ],
  };
}
