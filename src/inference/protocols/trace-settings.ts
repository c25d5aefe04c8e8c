/**
 * Triton's trace extension (docs/protocol/extension_trace.md of triton-inference-server/server), the
 * codec: `GET|POST /v2[/models/{m}]/trace/setting` and gRPC `TraceSetting`. Settings are name/value
 * pairs whose values are strings (`trace_level` an array of strings), as Triton writes them:
 *
 *   {"trace_file": "", "trace_level": ["OFF"], "trace_rate": "1000", "trace_count": "-1",
 *    "log_frequency": "0", "trace_mode": "triton"}
 *
 * An update names only the settings it changes; `null` clears one (a model's then follows the
 * global one again; a global one returns to its default). Texts follow Triton's HTTP handler
 * (src/http_server.cc `HandleTrace`), so its clients and tests read the same errors. Kiln is stricter
 * where Triton silently ignores: an unknown setting name or trace level, or a number with trailing
 * characters, is a 400 naming it.
 */
import { BadRequestException } from '@nestjs/common';
import { isPlainObject } from './tensor-values';

export type TraceLevel = 'TIMESTAMPS' | 'TENSORS';

/** One scope's settings (global, or a model's with the global ones filled in). */
export interface TraceSettings {
  /** Empty = OFF. */
  levels: TraceLevel[];
  /** One trace per `rate` requests. */
  rate: number;
  /** Traces left to take; -1 = no limit. */
  count: number;
  /** Traces per log line (0 = one line per trace, see InferenceTracer). */
  logFrequency: number;
}

/** The settings an update names: a value, or null to clear it. */
export type TraceSettingsUpdate = { [K in keyof TraceSettings]?: TraceSettings[K] | null };

/** What Kiln starts with, and what a cleared global setting returns to. */
export const TRACE_DEFAULTS: TraceSettings = { levels: [], rate: 1000, count: -1, logFrequency: 0 };

/** Triton's answer shape: every value a string, the level an array. */
export interface TraceSettingsView {
  trace_file: string;
  trace_level: string[];
  trace_rate: string;
  trace_count: string;
  log_frequency: string;
  trace_mode: 'triton';
}

/**
 * Kiln writes traces to its structured log (one `inference trace` line per trace, or per
 * `log_frequency` traces), never to a file: `trace_file` is reported empty and cannot be set, as
 * Triton refuses to set it over the network.
 */
export const TRACE_FILE = '';

export function traceSettingsView(s: TraceSettings): TraceSettingsView {
  return {
    trace_file: TRACE_FILE,
    trace_level: s.levels.length ? [...s.levels] : ['OFF'],
    trace_rate: String(s.rate),
    trace_count: String(s.count),
    log_frequency: String(s.logFrequency),
    trace_mode: 'triton',
  };
}

const UINT32_MAX = 4294967295;
const INT32_MAX = 2147483647;

/** One integer setting from its string (Triton's form) or a JSON integer. */
function integer(name: string, value: unknown, min: number, max: number): number {
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof text !== 'string') {
    throw new BadRequestException(`Unable to parse '${name}': expected a string holding an integer, got ${JSON.stringify(value)}`);
  }
  if (!/^-?\d+$/.test(text.trim())) throw new BadRequestException(`Unable to parse '${name}', got: ${text.slice(0, 40)}`);
  const n = Number(text.trim());
  if (name === 'trace_count' && n < min) {
    throw new BadRequestException(`Unable to parse 'trace_count'. Expecting value >= ${min}, got:${text.slice(0, 40)}`);
  }
  if (n < min || n > max) {
    throw new BadRequestException(`Unable to parse '${name}', value is out of range [ ${min}, ${max} ], got: ${text.slice(0, 40)}`);
  }
  return n;
}

function levels(value: unknown): TraceLevel[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new BadRequestException("Unable to parse 'trace_level': expected an array of strings");
  const out: TraceLevel[] = [];
  for (const level of list) {
    if (level === 'OFF') {
      if (list.length !== 1) throw new BadRequestException("Expect only one trace level 'OFF' is specified");
    } else if (level === 'TIMESTAMPS' || level === 'TENSORS') {
      if (!out.includes(level)) out.push(level);
    } else {
      throw new BadRequestException(
        `Unable to parse 'trace_level': unknown level ${JSON.stringify(level)?.slice(0, 40)} (OFF, TIMESTAMPS, TENSORS)`,
      );
    }
  }
  // Triton reports TIMESTAMPS before TENSORS whatever the order asked.
  return (['TIMESTAMPS', 'TENSORS'] as const).filter((l) => out.includes(l));
}

/** A REST update body (`{}` or an absent body changes nothing), or the gRPC request's settings as the same object. */
export function parseTraceSettingsUpdate(body: unknown): TraceSettingsUpdate {
  if (body === undefined || body === null || body === '') return {};
  if (!isPlainObject(body)) throw new BadRequestException('body: must be a JSON object of trace settings');
  const update: TraceSettingsUpdate = {};
  for (const [key, value] of Object.entries(body)) {
    switch (key) {
      case 'trace_file':
        throw new BadRequestException('trace file location can not be updated through network protocol');
      case 'trace_level':
        update.levels = value === null ? null : levels(value);
        break;
      case 'trace_rate':
        update.rate = value === null ? null : integer(key, value, 0, UINT32_MAX);
        if (update.rate === 0) throw new BadRequestException("Unable to parse 'trace_rate': sample rate must be non-zero");
        break;
      case 'trace_count':
        update.count = value === null ? null : integer(key, value, -1, INT32_MAX);
        break;
      case 'log_frequency':
        update.logFrequency = value === null ? null : integer(key, value, 0, UINT32_MAX);
        break;
      case 'trace_mode':
        if (value !== null && value !== 'triton') {
          throw new BadRequestException(`Unable to parse 'trace_mode': Kiln traces in mode 'triton' only, got ${JSON.stringify(value)}`);
        }
        break;
      default:
        throw new BadRequestException(`'${key.slice(0, 60)}': unknown trace setting (trace_level, trace_rate, trace_count, log_frequency)`);
    }
  }
  return update;
}

/**
 * gRPC `TraceSettingRequest.settings` (`map<string, SettingValue{repeated string value}>`) as a REST
 * body: no value clears the setting; `trace_level` keeps its list, the others take their one value.
 */
export function grpcTraceSettingsBody(settings: Record<string, { value?: string[] }> | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(settings ?? {})) {
    const values = v?.value ?? [];
    if (values.length === 0) body[key] = null;
    else if (key === 'trace_level') body[key] = values;
    else if (values.length === 1) body[key] = values[0];
    else throw new BadRequestException(`Unable to parse '${key.slice(0, 60)}': expected one value, got ${values.length}`);
  }
  return body;
}

/** A settings view as gRPC's `TraceSettingResponse.settings`. */
export function grpcTraceSettings(view: TraceSettingsView): Record<string, { value: string[] }> {
  return Object.fromEntries(Object.entries(view).map(([k, v]) => [k, { value: Array.isArray(v) ? v : [v] }]));
}
